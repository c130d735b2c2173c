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

// One line per layer family.
static const std::map<std::string, Factory> &factories() {
    static const std::map<std::string, Factory> f = {
        {"Dense", layers::make_dense},
        {"BatchNormalization", layers::make_batchnorm},
        {"Activation", layers::make_activation},
        {"BDT", layers::make_bdt},
        {"InstanceNorm", layers::make_instance_norm},
        {"KLScore", layers::make_kl_score},
        {"Conv", layers::make_conv},
        {"Pooling", layers::make_pool},
        {"Copy", layers::make_copy},
        {"ZeroPadding", layers::make_gather},
        {"Concatenate", layers::make_gather},
        {"Merge", layers::make_merge},
        {"LUTActivation", layers::make_lut_activation},
        {"Softmax", layers::make_softmax},
    };
    return f;
}

std::unique_ptr<layers::Layer> make_layer(const layers::LayerDesc &desc) {
    auto it = factories().find(desc.kind);
    if (it == factories().end()) desc.fail("unknown layer kind");
    return it->second(desc);
}

}  // namespace l1emu::graph
