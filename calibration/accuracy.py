"""Accuracy of the sensor calibrations on simulated recordings (the figures in calibration/*.md).

For each seed, a recording of the procedure is simulated with random distortions
(:func:`motiontrack.simulation.random_distortion`: accelerometer offsets ±0.3 m/s², gains ±3 %,
misalignment ±1°; magnetometer hard iron ±30 µT, soft iron ±10 %; default noise and gyroscope
bias 0.5 °/s with drift) and calibrated; the table gives the worst and the median error.

    python calibration/accuracy.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np

from motiontrack.calibration import calibrate_magnetometer, calibrate_six_face, estimate_gyro_bias
from motiontrack.conventions import GRAVITY
from motiontrack.simulation import simulate_magnetometer_rotation, simulate_rest, simulate_six_face

log = logging.getLogger("calibration.accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rest-s", type=float, default=10.0, help="length of the still recording, s")
    parser.add_argument("--tilt-deg", type=float, default=0.3, help="largest tilt of a six-face pose, degrees")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    gyro, acc_off, acc_scale, acc_mat, mag_hard, mag_soft = [], [], [], [], [], []
    field = 49.0
    dirs = np.random.default_rng(0).normal(size=(2000, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    for seed in range(args.seeds):
        rest = simulate_rest(args.rest_s, seed=seed)
        r = estimate_gyro_bias(rest.imu.gyr, rest.imu.acc, fs=rest.fs)
        gyro.append(np.degrees(np.max(np.abs(r.bias - rest.imu.gyr_bias_series[r.used].mean(axis=0)))))
        six = simulate_six_face(seed=seed, tilt_deg=args.tilt_deg)
        s = calibrate_six_face(six.imu.acc, six.imu.gyr, fs=six.fs)
        k_true = np.linalg.inv(np.asarray(six.imu.errors.acc_gain))
        acc_off.append(100 * np.max(np.abs(s.offset - np.asarray(six.imu.errors.acc_offset))) / GRAVITY)
        acc_scale.append(100 * np.max(np.abs(s.scale / np.diag(k_true) - 1)))
        acc_mat.append(100 * np.max(np.abs(s.matrix - k_true)))
        mag = simulate_magnetometer_rotation(40.0, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = calibrate_magnetometer(mag.imu.mag, field_ut=field)
        e = mag.imu.errors
        mag_hard.append(100 * np.linalg.norm(m.hard_iron - np.asarray(e.mag_hard_iron)) / field)
        b = field * dirs
        corrected = (b @ np.asarray(e.mag_soft_iron).T) @ m.soft_iron.T
        mag_soft.append(100 * np.max(np.linalg.norm(corrected - b, axis=1)) / field)
    rows = [
        ("gyroscope bias (°/s)", gyro, 0.05),
        ("accelerometer offset (% of g)", acc_off, 0.5),
        ("accelerometer scale (%)", acc_scale, 0.5),
        ("accelerometer M·S matrix (% abs.)", acc_mat, 0.5),
        ("magnetometer hard iron (% of field)", mag_hard, 2.0),
        ("magnetometer soft iron, worst direction (% of field)", mag_soft, 2.0),
    ]
    log.info("%d seeds, %.0f s rest, six faces of 5 s (tilt <= %.1f°), 40 s of rotation", args.seeds, args.rest_s,
             args.tilt_deg)
    log.info("| %-52s | %8s | %8s | %9s |", "quantity", "median", "worst", "criterion")
    log.info("|%s|%s|%s|%s|", "-" * 54, "-" * 10, "-" * 10, "-" * 11)
    for name, vals, crit in rows:
        log.info("| %-52s | %8.4f | %8.4f | %9.2f |", name, np.median(vals), np.max(vals), crit)


if __name__ == "__main__":
    main()
