// Instance normalization (l1emu custom layer): per event and per channel c, over the S spatial positions
// of a channel-last tensor (index s * n_chan + c),
//   mean = sum_s x / S,  var = sum_s (x - mean)^2 / S,  y = gamma_c * (x - mean) / sqrt(var + eps) + beta_c.
// Fixed point only. Cast points (what the l1emu emulator reproduces):
//   sum   : accum_t, x added in s order (sum += x)
//   mean  : (mean_t)(sum * inv_n),  inv_n = inv_n_code * 2^-inv_n_frac (~1/S, exact when S is a power of 2)
//   d     : (accum_t)(x - mean)
//   sq    : accum_t, sq += d * d in s order
//   var   : (var_t)(sq * inv_n)
//   r     : table[index(var)], the table holding 1/sqrt(v + eps) at the centres of table_size uniform bins
//           over [0, 2^table_range_log2) (filled in Python at conversion time, shipped as a weight array)
//   y     : (res_t)(d * r * gamma_c + beta_c), the product and sum exact
#ifndef NNET_INSTANCENORM_H_
#define NNET_INSTANCENORM_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include "nnet_l1emu_fixed.h"

namespace nnet {

struct instancenorm_config {
    typedef ap_fixed<32, 12> accum_t;
    typedef ap_fixed<24, 6> mean_t;
    typedef ap_ufixed<24, 10> var_t;
    typedef ap_ufixed<18, 8> table_t;
    typedef ap_fixed<16, 6> scale_t;
    typedef ap_fixed<16, 6> bias_t;

    static const unsigned n_spatial = 16;  // S
    static const unsigned n_chan = 4;      // C
    static const unsigned n_in = n_spatial * n_chan;
    static const unsigned inv_n_code = 1;  // inv_n = inv_n_code * 2^-inv_n_frac
    static const int inv_n_frac = 4;
    static const unsigned table_size = 1024;
    static const int table_range_log2 = 3;  // var table covers [0, 2^table_range_log2)
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void instancenorm(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                  typename CONFIG_T::scale_t scale[CONFIG_T::n_chan], typename CONFIG_T::bias_t bias[CONFIG_T::n_chan],
                  typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=data complete
    #pragma HLS ARRAY_PARTITION variable=res complete
    typedef typename CONFIG_T::accum_t accum_t;
    const ap_uint<32> inv_n_code = CONFIG_T::inv_n_code;
    const auto inv_n_lsb = l1emu::pow2<-CONFIG_T::inv_n_frac>::value();

InstanceNormChannel:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        accum_t sum = 0;
    InstanceNormSum:
        for (unsigned s = 0; s < CONFIG_T::n_spatial; s++) {
            sum += data[s * CONFIG_T::n_chan + c];
        }
        typename CONFIG_T::mean_t mean = sum * inv_n_code * inv_n_lsb;

        accum_t sq = 0;
    InstanceNormVar:
        for (unsigned s = 0; s < CONFIG_T::n_spatial; s++) {
            accum_t d = data[s * CONFIG_T::n_chan + c] - mean;
            sq += d * d;
        }
        typename CONFIG_T::var_t var = sq * inv_n_code * inv_n_lsb;
        const unsigned idx =
            l1emu::table_index<typename CONFIG_T::var_t, CONFIG_T::table_size, CONFIG_T::table_range_log2, false>(var);
        typename CONFIG_T::table_t r = table[idx];

    InstanceNormOut:
        for (unsigned s = 0; s < CONFIG_T::n_spatial; s++) {
            accum_t d = data[s * CONFIG_T::n_chan + c] - mean;
            res[s * CONFIG_T::n_chan + c] = d * r * scale[c] + bias[c];
        }
    }
}

// io_stream: buffer the whole tensor (the statistics need every position), then the same arithmetic.
template <class data_T, class res_T, typename CONFIG_T>
void instancenorm(hls::stream<data_T> &data, hls::stream<res_T> &res, typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
                  typename CONFIG_T::bias_t bias[CONFIG_T::n_chan],
                  typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    typename data_T::value_type in_buf[CONFIG_T::n_in];
    typename res_T::value_type out_buf[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=in_buf complete
    #pragma HLS ARRAY_PARTITION variable=out_buf complete
InstanceNormRead:
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        #pragma HLS PIPELINE
        data_T in_pack = data.read();
        for (unsigned j = 0; j < data_T::size; j++) {
            #pragma HLS UNROLL
            in_buf[i * data_T::size + j] = in_pack[j];
        }
    }
    instancenorm<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(in_buf, out_buf, scale, bias, table);
InstanceNormWrite:
    for (unsigned i = 0; i < CONFIG_T::n_in / res_T::size; i++) {
        #pragma HLS PIPELINE
        res_T out_pack;
        PRAGMA_DATA_PACK(out_pack)
        for (unsigned j = 0; j < res_T::size; j++) {
            #pragma HLS UNROLL
            out_pack[j] = out_buf[i * res_T::size + j];
        }
        res.write(out_pack);
    }
}

} // namespace nnet

#endif
