//Numpy array shape [4]
//Min -0.781250000000
//Max -0.156250000000
//Number of zeros 0

#ifndef B8_H_
#define B8_H_

#ifndef __SYNTHESIS__
out_bias_t b8[4];
#else
out_bias_t b8[4] = {-0.7812500000, -0.4687500000, -0.3437500000, -0.1562500000};
#endif

#endif
