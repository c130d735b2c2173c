//Numpy array shape [12]
//Min -0.687500000000
//Max 0.406250000000
//Number of zeros 0

#ifndef B2_H_
#define B2_H_

#ifndef __SYNTHESIS__
fc1_bias_t b2[12];
#else
fc1_bias_t b2[12] = {-0.37500, -0.03125, -0.09375, 0.37500, 0.40625, -0.34375, -0.28125, -0.28125, -0.68750, -0.28125, -0.03125, 0.34375};
#endif

#endif
