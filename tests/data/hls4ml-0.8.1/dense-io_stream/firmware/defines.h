#ifndef DEFINES_H_
#define DEFINES_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "nnet_utils/nnet_types.h"
#include <cstddef>
#include <cstdio>

// hls-fpga-machine-learning insert numbers
#define N_INPUT_1_1 10
#define N_LAYER_2 12
#define N_LAYER_2 12
#define N_LAYER_2 12
#define N_LAYER_5 8
#define N_LAYER_5 8
#define N_LAYER_8 4

// hls-fpga-machine-learning insert layer-precision
typedef nnet::array<ap_fixed<16,6>, 10*1> input_t;
typedef ap_fixed<14,5,AP_RND,AP_SAT> fc1_accum_t;
typedef nnet::array<ap_fixed<12,4,AP_RND,AP_SAT>, 12*1> layer2_t;
typedef ap_fixed<8,3> fc1_weight_t;
typedef ap_fixed<8,3> fc1_bias_t;
typedef ap_uint<1> layer2_index;
typedef nnet::array<ap_fixed<16,6>, 12*1> layer3_t;
typedef ap_fixed<18,8> fc1_linear_table_t;
typedef nnet::array<ap_fixed<16,6>, 12*1> layer4_t;
typedef ap_fixed<18,8> relu1_table_t;
typedef ap_fixed<16,6> model_default_t;
typedef nnet::array<ap_fixed<16,6>, 8*1> layer5_t;
typedef ap_fixed<16,6> fc2_weight_t;
typedef ap_fixed<16,6> fc2_bias_t;
typedef ap_uint<1> layer5_index;
typedef nnet::array<ap_fixed<16,6>, 8*1> layer7_t;
typedef ap_fixed<18,8> tanh_table_t;
typedef nnet::array<ap_fixed<16,6>, 4*1> result_t;
typedef ap_fixed<16,6> out_weight_t;
typedef ap_fixed<16,6> out_bias_t;
typedef ap_uint<1> layer8_index;

#endif
