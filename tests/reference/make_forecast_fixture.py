#!/usr/bin/python3
"""make_forecast_fixture.py - forecasters written by PyTorch (DESIGN.md's Net) and what recur must
predict with them (tests/check_forecast.c).

For each case this script reads a series with h5py and numpy alone (CF unpacking written out
here), encodes it the way include/recur/forecast.h specifies (chronological split, z-scores fitted
on the training split over every series, a missing input 0, missingness channels, day-of-year
sin/cos, windows, horizon-major outputs), builds a Net with PyTorch's default initialisation,
writes it as a recur model file whose /config carries the encoding, and stores torch's forecasts
at the test split's issue times (float64, z-scored and in physical units) with the statistics
and the first windows' features.

Cases:
  seq_lstm   tests/fixtures/series/panel.h5, temp over (station, time) as a panel of 4 series
             with gaps; W 7, H 3, --calendar doy --missing-indicators; nn.LSTM(I, 8), sequence
             head (h_n of the last step), test split.
  step_gru   data/weather/seattle.h5, tmax,tmin,precip -> tmax; H 2, --calendar doy; nn.GRU(I, 6,
             2 layers), step head run over the whole series, read at the test issue times (W 5).

Usage: /usr/bin/python3 tests/reference/make_forecast_fixture.py [OUTDIR]  (default
tests/fixtures; run from the top of the tree, after make_series_fixtures.py). Writes ref_forecast.h5 and ref_forecast_<case>.h5 (model files). Needs torch,
h5py, numpy; seeded, so a rerun writes the same numbers.
"""
import datetime
import os
import sys

import h5py
import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


class Net(torch.nn.Module):
    """DESIGN.md's Net."""

    def __init__(s, cell, I, H, L, bi, out):
        super().__init__()
        s.rnn = CELLS[cell](I, H, L, batch_first=True, bidirectional=bi)
        s.head = torch.nn.Linear(H * (2 if bi else 1), out)


def read_var(f, name):
    """CF unpacking: NaN, _FillValue, missing_value -> NaN; else raw * scale + offset."""
    d = f[name]
    raw = d[()].astype(np.float64)
    miss = np.isnan(raw)
    for k in ("_FillValue", "missing_value"):
        if k in d.attrs:
            for v in np.atleast_1d(d.attrs[k]):
                miss |= raw == float(v)
    x = raw * float(d.attrs.get("scale_factor", 1.0)) + float(d.attrs.get("add_offset", 0.0))
    x[miss] = np.nan
    return x


def epoch_days(f):
    """Days since 1970-01-01 of the time coordinate ('days since YYYY-MM-DD' only)."""
    units = f["time"].attrs["units"]
    units = units.decode() if isinstance(units, bytes) else units
    origin = datetime.date.fromisoformat(units.split("since")[1].strip()[:10])
    return f["time"][()].astype(np.int64) + (origin - datetime.date(1970, 1, 1)).days


def doy_features(days):
    out = []
    for d in days:
        date = datetime.date(1970, 1, 1) + datetime.timedelta(days=int(d))
        yday = date.timetuple().tm_yday - 1
        ylen = 366 if (date.year % 4 == 0 and date.year % 100 != 0) or date.year % 400 == 0 else 365
        a = 2 * np.pi * yday / ylen
        out.append((np.sin(a), np.cos(a)))
    return np.array(out)


def encode(values, days, inputs, targets, W, H, val, test, mi, doy):
    """values (S, T, V) with NaN; returns the encoding (as forecast.h says) and test samples."""
    S, T, V = values.shape
    b1 = int(np.floor((1 - val - test) * T + 1e-9))
    b2 = b1 + int(np.floor(val * T + 1e-9))
    tr = values[:, :b1, :]
    mean = np.array([np.nanmean(tr[:, :, v]) for v in range(V)])
    std = np.array([np.sqrt(np.nanmean((tr[:, :, v] - mean[v]) ** 2)) for v in range(V)])
    z = (values - mean) / std
    feats = [np.where(np.isnan(z[:, :, inputs]), 0.0, z[:, :, inputs])]
    if mi:
        feats.append(np.isnan(values[:, :, inputs]).astype(np.float64))
    if doy:
        feats.append(np.broadcast_to(doy_features(days)[None], (S, T, 2)))
    x = np.concatenate(feats, axis=2).astype(np.float32)  # recur stores features in float32
    samples = [(s, t) for s in range(S) for t in range(b2 + W - 1, T - H)]
    return dict(mean=mean, std=std, x=x, samples=samples, b=(b1, b2))


def write_model(path, net, cell, I, Hd, L, head, enc, meta):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-model"
        f.attrs["format_version"] = 1
        f.attrs["recur_version"] = "0.1.0"
        f.attrs["command_line"] = "tests/reference/make_forecast_fixture.py (torch state_dict)"
        g = f.create_group("config")
        for k, v in (("task", "regress"), ("cell", cell), ("head", head), ("pool", "last")):
            g.attrs[k] = v
        for k, v in (("input_size", I), ("hidden_size", Hd), ("num_layers", L),
                     ("num_outputs", meta["O"]), ("bidirectional", 0)):
            g.attrs[k] = np.int32(v)
        g.attrs["dropout"] = 0.0
        for k in ("horizon", "window", "stride", "split", "mean", "std", "calendar",
                  "missing_indicators", "input_index", "target_index"):
            g.attrs[k] = np.atleast_1d(np.asarray(meta[k], np.float64))
        for k in ("variables", "inputs", "targets", "features", "outputs"):
            g.attrs[k] = np.array([s.encode() for s in meta[k]])
        w = f.create_group("weights")
        for k, v in net.state_dict().items():
            w.create_dataset(k, data=v.numpy().astype(np.float32))


def meta_for(enc, variables, inputs, targets, W, H, val, test, mi, doy, O):
    feats = [variables[i] for i in inputs]
    if mi:
        feats += [variables[i] + "_missing" for i in inputs]
    if doy:
        feats += ["doy_sin", "doy_cos"]
    outs = ["%s+%d" % (variables[k], h) for h in range(1, H + 1) for k in targets]
    return dict(horizon=H, window=W, stride=1, split=[1 - val - test, val], mean=enc["mean"],
                std=enc["std"], calendar=[1 if doy else 0, 0], missing_indicators=1 if mi else 0,
                input_index=inputs, target_index=targets, variables=variables,
                inputs=[variables[i] for i in inputs], targets=[variables[k] for k in targets],
                features=feats, outputs=outs, O=O)


def case_seq_lstm(fx):
    with h5py.File("tests/fixtures/series/panel.h5", "r") as f:
        temp = read_var(f, "temp")  # (station, time)
        days = epoch_days(f)
    values = temp[:, :, None]
    W, H, val, test = 7, 3, 0.15, 0.15
    enc = encode(values, days, [0], [0], W, H, val, test, mi=True, doy=True)
    F = enc["x"].shape[2]
    net = Net("lstm", F, 8, 1, False, H)
    smp = enc["samples"]
    xw = np.stack([enc["x"][s, t - W + 1:t + 1] for s, t in smp])  # (N, W, F)
    with torch.no_grad():
        nd = net.double()
        _, (hn, _) = nd.rnn(torch.from_numpy(xw.astype(np.float64)))
        z = nd.head(hn[-1]).numpy()  # (N, O)
    net = net.float()
    meta = meta_for(enc, ["temp"], [0], [0], W, H, val, test, True, True, H)
    write_model(os.path.join(OUT, "ref_forecast_seq_lstm.h5"), net, "lstm", F, 8, 1, "seq", enc,
                meta)
    store(fx, "seq_lstm", "series/panel.h5", enc, smp, z, xw[:3], [0], H)


def case_step_gru(fx):
    with h5py.File("data/weather/seattle.h5", "r") as f:
        v = np.stack([read_var(f, n) for n in ("tmax", "tmin", "precip")], axis=-1)
        days = epoch_days(f)
    values = v[None]  # (1, T, 3)
    W, H, val, test = 5, 2, 0.15, 0.15
    enc = encode(values, days, [0, 1, 2], [0], W, H, val, test, mi=False, doy=True)
    F = enc["x"].shape[2]
    net = Net("gru", F, 6, 2, False, H)
    smp = enc["samples"]
    with torch.no_grad():
        nd = net.double()
        out, _ = nd.rnn(torch.from_numpy(enc["x"].astype(np.float64)))  # (1, T, 6)
        zall = nd.head(out).numpy()  # (1, T, O)
    z = np.stack([zall[s, t] for s, t in smp])
    net = net.float()
    meta = meta_for(enc, ["tmax", "tmin", "precip"], [0, 1, 2], [0], W, H, val, test, False,
                    True, H)
    xw = np.stack([enc["x"][s, t - W + 1:t + 1] for s, t in smp[:3]])
    write_model(os.path.join(OUT, "ref_forecast_step_gru.h5"), net, "gru", F, 6, 2, "step", enc,
                meta)
    store(fx, "step_gru", "../../data/weather/seattle.h5", enc, smp, z, xw, [0], H)


def store(fx, name, h5, enc, smp, z, xw, targets, H):
    g = fx.create_group(name)
    g.attrs["h5"] = np.bytes_(h5)  # relative to the fixture directory
    g.create_dataset("mean", data=enc["mean"])
    g.create_dataset("std", data=enc["std"])
    g.create_dataset("sample_series", data=np.array([s for s, _ in smp], np.int64))
    g.create_dataset("sample_t", data=np.array([t for _, t in smp], np.int64))
    g.create_dataset("x_first", data=xw.astype(np.float64))  # (3, W, F)
    g.create_dataset("pred_z", data=z)  # (N, O)
    k = targets[0]
    g.create_dataset("pred", data=z * enc["std"][k] + enc["mean"][k])
    g.create_dataset("bounds", data=np.array(enc["b"], np.int64))


def main():
    torch.manual_seed(20261128)
    os.makedirs(OUT, exist_ok=True)
    with h5py.File(os.path.join(OUT, "ref_forecast.h5"), "w") as fx:
        fx.attrs["source"] = np.bytes_("tests/reference/make_forecast_fixture.py, torch %s"
                                       % torch.__version__)
        case_seq_lstm(fx)
        case_step_gru(fx)
    print("wrote %s/ref_forecast.h5" % OUT)


if __name__ == "__main__":
    main()
