// Sliding windows shared by the window families (Conv, Pool): which input each output pixel's window reads,
// in the order the generated code visits it (fill_buffer / line buffer / pooling loops): window element
// (ky, kx, c) of output pixel (oy, ox) reads input (oy * sh + ky - pt, ox * sw + kx - pl, c), channels_last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace l1emu::layers {

struct Window {
    size_t ih, iw;          // input height, width
    size_t fh, fw, sh, sw;  // window, stride
    size_t pt, pb, pl, pr;  // padding (zeros or pad_val, by the family)
    size_t oh() const { return (ih + pt + pb - fh) / sh + 1; }
    size_t ow() const { return (iw + pl + pr - fw) / sw + 1; }
    size_t n_pix() const { return oh() * ow(); }
};

// [n_pix][fh * fw * nc]: flat input index (pixel * nc + c) of window element (ky * fw + kx) * nc + c, -1 in
// the padding. The caller has checked that the window fits the padded input.
inline std::vector<int64_t> window_gather(const Window &w, size_t nc) {
    const size_t oh = w.oh(), ow = w.ow(), n_win = w.fh * w.fw * nc;
    std::vector<int64_t> g(oh * ow * n_win);
    for (size_t oy = 0; oy < oh; ++oy)
        for (size_t ox = 0; ox < ow; ++ox)
            for (size_t ky = 0; ky < w.fh; ++ky)
                for (size_t kx = 0; kx < w.fw; ++kx) {
                    const long long y = (long long)(oy * w.sh + ky) - (long long)w.pt;
                    const long long x = (long long)(ox * w.sw + kx) - (long long)w.pl;
                    const bool inside = y >= 0 && y < (long long)w.ih && x >= 0 && x < (long long)w.iw;
                    for (size_t c = 0; c < nc; ++c)
                        g[(oy * ow + ox) * n_win + (ky * w.fw + kx) * nc + c] =
                            inside ? (y * (long long)w.iw + x) * (long long)nc + (long long)c : -1;
                }
    return g;
}

}  // namespace l1emu::layers
