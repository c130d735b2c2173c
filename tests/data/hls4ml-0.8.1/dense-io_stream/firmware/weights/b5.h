//Numpy array shape [8]
//Min -0.281250000000
//Max 1.437500000000
//Number of zeros 0

#ifndef B5_H_
#define B5_H_

#ifndef __SYNTHESIS__
fc2_bias_t b5[8];
#else
fc2_bias_t b5[8] = {0.5625000000, -0.2812500000, -0.2500000000, 1.4375000000, 1.0625000000, 0.4687500000, -0.2187500000, 0.3125000000};
#endif

#endif
