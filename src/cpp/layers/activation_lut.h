// nnet_activation.h / nnet_activation_stream.h lookup-table activations: sigmoid, tanh, softplus, softsign,
// elu, selu. The firmware fills each table at run time with single-precision libm calls cast to table_t;
// the constructor does the same with the same float expressions, so the table codes agree. Lookup:
//   int data_round = data * table_size / 16;   (ap_fixed * unsigned, / int: exact product, quotient
//   int index = data_round + 8 * table_size / 16;  truncated toward zero on the raw code, then to int
//   clamp index to [0, table_size - 1];            toward zero)
// (tanh: / 8 and + 4 * table_size / 8; elu/selu, negative inputs only: index = data * table_size / -8).
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class LUTActivation : public Layer {
   public:
    enum class Fn { Sigmoid, Tanh, Softplus, Softsign, ELU, SELU };
    // Attributes: lut_activation_schema() (io_type matters for selu, whose positive slope differs).
    explicit LUTActivation(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    std::vector<CastSite> sites() const override;  // table_index, table_value, elu/selu: linear
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    template <class Cast>
    int64_t table_index(int64_t code, const Cast &cast) const;

    TensorInfo in_;
    Fn fn_;
    long long table_size_;
    Spec table_t_;
    std::vector<int64_t> table_;  // codes of table_t
    std::vector<int64_t> res_;    // table entries cast to res_t
    bool stream_ = false;
    Spec param_t_;                 // elu alpha type / selu lambda type
    int64_t param_ = 0;            // elu alpha / selu lambda code
};

std::unique_ptr<Layer> make_lut_activation(const LayerDesc &d);
const Schema &lut_activation_schema();

// int(x * mult / div) for an ap_fixed x = v * 2^-frac (ap_fixed * C int, / C int, operator int()): the raw
// product divided with C truncation, then truncated toward zero to an integer, low 32 bits.
int32_t mul_div_to_int(fixed::i128 v, int frac, long long mult, long long div);

}  // namespace l1emu::layers
