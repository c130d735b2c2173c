#include "registry.h"

#include <functional>
#include <map>

#include "../layers/activation.h"
#include "../layers/activation_lut.h"
#include "../layers/bdt.h"
#include "../layers/conv.h"
#include "../layers/dense.h"
#include "../layers/instance_norm.h"
#include "../layers/kl_score.h"
#include "../layers/merge.h"
#include "../layers/norm.h"
#include "../layers/pooling.h"
#include "../layers/softmax.h"

namespace l1emu::graph {

using Factory = std::function<std::unique_ptr<layers::Layer>(const layers::LayerDesc &)>;
struct Family {
    Factory make;
    const layers::Schema &schema;
};

// One line per layer kind: its kernel and its declared attributes.
static const std::map<std::string, Family> &families() {
    using namespace layers;
    static const std::map<std::string, Family> f = {
        {"Dense", {make_dense, dense_schema()}},
        {"BatchNormalization", {make_batchnorm, batchnorm_schema()}},
        {"Activation", {make_activation, activation_schema()}},
        {"BDT", {make_bdt, bdt_schema()}},
        {"InstanceNorm", {make_instance_norm, instance_norm_schema()}},
        {"KLScore", {make_kl_score, kl_score_schema()}},
        {"Conv", {make_conv, conv_schema()}},
        {"Pooling", {make_pool, pool_schema()}},
        {"Copy", {make_copy, copy_schema()}},
        {"ZeroPadding", {make_gather, zero_padding_schema()}},
        {"Concatenate", {make_gather, concatenate_schema()}},
        {"Merge", {make_merge, merge_schema()}},
        {"LUTActivation", {make_lut_activation, lut_activation_schema()}},
        {"Softmax", {make_softmax, softmax_schema()}},
    };
    return f;
}

std::unique_ptr<layers::Layer> make_layer(layers::LayerDesc desc) {
    auto it = families().find(desc.kind);
    if (it == families().end()) {
        std::string kinds;
        for (const auto &[kind, family] : families()) kinds += (kinds.empty() ? "" : ", ") + kind;
        desc.fail("unknown layer kind (l1emu has " + kinds + ")");
    }
    it->second.schema.apply(desc);
    return it->second.make(desc);
}

std::map<std::string, const layers::Schema *> schemas() {
    std::map<std::string, const layers::Schema *> out;
    for (const auto &[kind, family] : families()) out[kind] = &family.schema;
    return out;
}

}  // namespace l1emu::graph
