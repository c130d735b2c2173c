// Base of every emulated layer. A layer maps blocks of events, stored event-major as int64 codes
// ([n_events x size] per tensor), to one output tensor of a fixed type. Mirrors one nnet_utils function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../fixed/cast_site.h"
#include "../fixed/fixed.h"

namespace l1emu::layers {

using fixed::Spec;

// A cast site of a layer (precision audit): its name, the type it assigns to (named as the firmware's
// config names it: accum_t, result_t, ...) and that type, or for a table index the table size.
struct CastSite {
    std::string name, type;
    Spec spec;
    int64_t table_size = 0;  // > 0: a lookup-table index into 0..table_size-1, not an ap_fixed cast
};

struct TensorInfo {
    size_t size = 0;  // values per event
    Spec spec;
};

class Layer {
   public:
    Layer(std::string name, std::string kind, std::vector<int> inputs, TensorInfo out)
        : name(std::move(name)), kind(std::move(kind)), inputs(std::move(inputs)), out(out) {}
    virtual ~Layer() = default;

    // in[k] points at input tensor k (inputs[k]) for the same n events; out has n * out.size codes.
    virtual void forward(const int64_t *const *in, int64_t *out, size_t n) const = 0;
    // Multiply-accumulates per event (for summary and counters).
    virtual size_t ops() const { return 0; }
    // Name of the evaluation path chosen at load (kernels with several; for tests and summaries).
    virtual std::string path() const { return ""; }
    // Events per forward call the kernel needs to run at full width (across-events lanes); the model makes
    // its blocks at least this large where memory allows.
    virtual size_t min_block() const { return 1; }
    // True when forward copies its single input unchanged (a linear activation to the same codes): the model
    // then lets the output share the input's buffer instead of running it.
    virtual bool is_identity() const { return false; }
    // Precision audit: the layer's cast sites, and forward on the scalar reference path with every cast of
    // the events recorded in stats[site] (same outputs as forward). Layers without sites only run forward.
    virtual std::vector<CastSite> sites() const { return {}; }
    virtual void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *) const {
        forward(in, out, n);
    }

    const std::string name, kind;
    const std::vector<int> inputs;  // tensor ids: 0 is the model input, k the output of layer k-1
    const TensorInfo out;
};

}  // namespace l1emu::layers
