// KL anomaly score (l1emu custom layer) from an encoder output [mu_0..mu_{L-1}, logvar_0..logvar_{L-1}]:
//   mode full: 0.5 * sum_i (mu_i^2 + exp(logvar_i) - 1 - logvar_i)  (KL of N(mu, exp(logvar)) to N(0, 1))
//   mode mu2 : sum_i mu_i^2                                          (the CMS AXOL1TL score)
// Fixed point only. Cast points (what the l1emu emulator reproduces):
//   acc : accum_t; per i in order, acc += term, term exact (full: mu*mu + e - 1 - logvar; mu2: mu*mu)
//   e   : exp_table[index(logvar)], exp at the centres of table_size uniform bins over
//         [-2^table_range_log2, 2^table_range_log2) (filled in Python at conversion time, a weight array)
//   out : (res_t)(acc * 2^-1) for full, (res_t)acc for mu2
#ifndef NNET_KL_SCORE_H_
#define NNET_KL_SCORE_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include "nnet_l1emu_fixed.h"

namespace nnet {

struct kl_score_config {
    typedef ap_fixed<24, 12> accum_t;
    typedef ap_ufixed<18, 8> table_t;
    static const unsigned n_latent = 8;
    static const unsigned n_in = 2 * n_latent;
    static const bool full = true;  // false: mu^2 only
    static const unsigned table_size = 1024;
    static const int table_range_log2 = 3;
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void kl_score(data_T data[CONFIG_T::n_in], res_T res[1], typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=data complete
    typename CONFIG_T::accum_t acc = 0;
KLScoreLatent:
    for (unsigned i = 0; i < CONFIG_T::n_latent; i++) {
        const data_T mu = data[i];
        if (CONFIG_T::full) {
            const data_T lv = data[CONFIG_T::n_latent + i];
            const unsigned idx =
                l1emu::table_index<data_T, CONFIG_T::table_size, CONFIG_T::table_range_log2, true>(lv);
            const typename CONFIG_T::table_t e = table[idx];
            acc += mu * mu + e - l1emu::pow2<0>::value() - lv;
        } else {
            acc += mu * mu;
        }
    }
    if (CONFIG_T::full) {
        res[0] = acc * l1emu::pow2<-1>::value();
    } else {
        res[0] = acc;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void kl_score(hls::stream<data_T> &data, hls::stream<res_T> &res, typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    typename data_T::value_type in_buf[CONFIG_T::n_in];
    typename res_T::value_type out_buf[1];
    #pragma HLS ARRAY_PARTITION variable=in_buf complete
KLScoreRead:
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        #pragma HLS PIPELINE
        data_T in_pack = data.read();
        for (unsigned j = 0; j < data_T::size; j++) {
            #pragma HLS UNROLL
            in_buf[i * data_T::size + j] = in_pack[j];
        }
    }
    kl_score<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(in_buf, out_buf, table);
    res_T out_pack;
    PRAGMA_DATA_PACK(out_pack)
    out_pack[0] = out_buf[0];
    res.write(out_pack);
}

} // namespace nnet

#endif
