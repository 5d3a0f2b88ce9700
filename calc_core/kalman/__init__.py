"""Sensor fusion: an extended Kalman filter tracking a turning vehicle (ekf), the simulated drive
(vehicle), NEES/NIS consistency (consistency), the Jacobian check (checks), the verdicts in words
(diagnosis), and the page's entry module (lab)."""

from calc_core.kalman.checks import JacobianCheck, jacobian_check
from calc_core.kalman.consistency import FilterRun, run_filter
from calc_core.kalman.ekf import (ExtendedKalmanFilter, ctrv_jacobian, ctrv_motion, ekf_predict, ekf_update,
                                  motion_jacobian, motion_model, turn_factors)
from calc_core.kalman.vehicle import VehicleRun, simulate_vehicle

__all__ = ["ExtendedKalmanFilter", "FilterRun", "JacobianCheck", "VehicleRun", "ctrv_jacobian", "ctrv_motion",
           "ekf_predict", "ekf_update", "jacobian_check", "motion_jacobian", "motion_model", "run_filter",
           "simulate_vehicle", "turn_factors"]
