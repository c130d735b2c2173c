"""The l1emu custom anomaly-detection layers (l1emu.firmware): InstanceNorm and KLScore. Their tables
and weights are taken as the generated firmware holds them (weight text -> double -> type)."""

from .common import precision, weight_codes


def _table(layer):
    codes, spec = weight_codes(layer, "table")
    return codes.reshape(-1), spec


def instance_norm(layer, ins):
    s, s_t = weight_codes(layer, "scale")
    b, b_t = weight_codes(layer, "bias")
    table, t_t = _table(layer)
    attrs = {k: int(layer.get_attr(k)) for k in ("n_chan", "n_spatial", "inv_n_code", "inv_n_frac", "table_size",
                                                 "table_range_log2")}
    attrs.update({f"{t}_t": precision(layer, f"{t}_t") for t in ("accum", "mean", "var")},
                 table_t=t_t, scale_t=s_t, bias_t=b_t)
    return {"kind": "InstanceNorm", "inputs": ins, "attrs": attrs,
            "arrays": {"scale": s.reshape(-1), "bias": b.reshape(-1), "table": table}}


def kl_score(layer, ins):
    table, t_t = _table(layer)
    attrs = {k: int(layer.get_attr(k)) for k in ("n_latent", "table_size", "table_range_log2")}
    attrs.update(mode=str(layer.get_attr("mode")), accum_t=precision(layer, "accum_t"), table_t=t_t)
    return {"kind": "KLScore", "inputs": ins, "attrs": attrs, "arrays": {"table": table}}
