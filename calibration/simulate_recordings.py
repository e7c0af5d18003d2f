"""Write simulated recordings of the three calibration procedures, to try
``motiontrack calibrate`` without hardware.

    python calibration/simulate_recordings.py OUTDIR [--seed 0]
    motiontrack calibrate OUTDIR/rest.csv --gyro -o OUTDIR/imu.json
    motiontrack calibrate OUTDIR/six_face.csv --six-face -o OUTDIR/imu.json --update
    motiontrack calibrate OUTDIR/figure8.csv --mag --field-ut 49 -o OUTDIR/imu.json --update

The true distortions are written to OUTDIR/truth.json for comparison.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from motiontrack.simulation import (
    random_distortion,
    simulate_magnetometer_rotation,
    simulate_rest,
    simulate_six_face,
)

log = logging.getLogger("calibration.simulate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.outdir.mkdir(parents=True, exist_ok=True)
    errors = random_distortion(args.seed)
    rest = simulate_rest(10.0, seed=args.seed, errors=errors)
    six = simulate_six_face(seed=args.seed, errors=errors)
    fig8 = simulate_magnetometer_rotation(40.0, seed=args.seed, errors=errors)
    for name, rec in (("rest", rest), ("six_face", six), ("figure8", fig8)):
        path = args.outdir / f"{name}.csv"
        rec.to_csv(path)
        log.info("wrote %s (%s, %.0f s)", path, rec.description, rec.t[-1])
    k = np.linalg.inv(np.asarray(errors.acc_gain))
    truth = {
        "gyr_bias_rad_s": rest.imu.gyr_bias.tolist(),
        "acc_offset_m_s2": list(errors.acc_offset),
        "acc_matrix_M_S": k.tolist(),
        "mag_hard_iron_ut": list(errors.mag_hard_iron),
        "mag_soft_iron_correction": np.linalg.inv(np.asarray(errors.mag_soft_iron)).tolist(),
    }
    (args.outdir / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    log.info("wrote %s", args.outdir / "truth.json")


if __name__ == "__main__":
    main()
