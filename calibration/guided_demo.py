"""Run the guided calibration procedures against a simulated sensor, as an app would live.

Shows the loop a live session uses: show the prompt, feed sample blocks as they arrive,
display progress, move on when the step is done, then save the result.

    python calibration/guided_demo.py [-o imu.json] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging

from motiontrack.calibration import (
    GyroBiasProcedure,
    MagnetometerProcedure,
    SixFaceProcedure,
)
from motiontrack.simulation import (
    random_distortion,
    simulate_magnetometer_rotation,
    simulate_rest,
    simulate_six_face,
)

log = logging.getLogger("calibration.guided")


def drive(proc, rec, block: int = 10) -> None:  # noqa: ANN001 - a procedure and a recording
    """Feed the recording in blocks of ``block`` samples, like BLE notifications."""
    imu = rec.imu
    i = 0
    for prompt in proc:
        log.info("> %s", prompt.instruction)
        last = ""
        while i < len(rec.t):
            sl = slice(i, i + block)
            i += block
            status = proc.update(imu.acc[sl], imu.gyr[sl], None if imu.mag is None else imu.mag[sl])
            if status.message != last and not status.message.startswith("hold still ("):
                log.info("  %s", status.message)
                last = status.message
            if status.done:
                break
        if i >= len(rec.t) and not proc.finished:
            raise SystemExit("the simulated recording ended before the procedure was done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help="write the calibration JSON here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    errors = random_distortion(args.seed)
    gyro = GyroBiasProcedure(fs=100.0, sensor="imu", duration_s=8.0)
    drive(gyro, simulate_rest(12.0, seed=args.seed, errors=errors))
    six = SixFaceProcedure(fs=100.0, sensor="imu")
    drive(six, simulate_six_face(seed=args.seed, errors=errors))
    mag = MagnetometerProcedure(fs=100.0, sensor="imu", field_ut=49.0)
    drive(mag, simulate_magnetometer_rotation(60.0, seed=args.seed, errors=errors), block=50)
    cal = gyro.result().merged(six.result()).merged(mag.result())
    log.info("gyroscope bias %s rad/s", cal.gyr_bias.round(5))
    log.info("accelerometer offset %s m/s², scale %s", cal.acc_offset.round(4), cal.acc_scale.round(4))
    log.info("magnetometer hard iron %s µT (true %s)", cal.mag_hard_iron.round(2), [round(x, 2) for x in errors.mag_hard_iron])
    if args.output:
        cal.save(args.output)
        log.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
