"""GANs: minimax optimization — why simultaneous gradient steps spiral, and what makes them converge.

The bilinear game x·y (calc_core.gan.bilinear), the Dirac-GAN (calc_core.gan.dirac), a 1-D GAN that
learns a Gaussian (calc_core.gan.gan_1d, calc_core.gan.training), the linear algebra of one step of
four methods (calc_core.gan.linear), and the page's Settings → run → Result (calc_core.gan.lab).
"""

from calc_core.gan.bilinear import (alternating_invariant, bilinear_field, bilinear_jacobian, bilinear_value,
                                    game_eigenvalues, game_run, game_spectral_radius, game_trajectory,
                                    game_update_matrix)
from calc_core.gan.checks import game_checks, gan_1d_checks
from calc_core.gan.diagnosis import diagnose
from calc_core.gan.dirac import (dirac_gan_eigenvalues, dirac_gan_field, dirac_gan_jacobian, dirac_gan_run,
                                 dirac_gan_spectral_radius, dirac_gan_trajectory, dirac_gan_update_eigenvalues,
                                 dirac_gan_update_matrix, dirac_gan_value)
from calc_core.gan.gan_1d import discriminator, gan_1d_gradients, gan_1d_losses, generator, logit, sigmoid, softplus
from calc_core.gan.lab import PRESETS, Result, Settings, preset, preset_diagnosis, run
from calc_core.gan.views import GameView, GanView
from calc_core.gan.linear import (METHODS, eigenvalues, jacobian_eigenvalues, spectral_radius, spectral_radius_map,
                                  update_eigenvalues, update_matrix)
from calc_core.gan.play import GameRun, play
from calc_core.gan.training import GanRun, Match, match, train_gan_1d

__all__ = [
    "METHODS", "PRESETS", "GameRun", "GameView", "GanRun", "GanView", "Match", "Result", "Settings",
    "alternating_invariant", "bilinear_field", "bilinear_jacobian", "bilinear_value", "diagnose",
    "dirac_gan_eigenvalues", "dirac_gan_field", "dirac_gan_jacobian", "dirac_gan_run", "dirac_gan_spectral_radius",
    "dirac_gan_trajectory", "dirac_gan_update_eigenvalues", "dirac_gan_update_matrix", "dirac_gan_value",
    "discriminator", "eigenvalues", "game_checks", "game_eigenvalues", "game_run", "game_spectral_radius",
    "game_trajectory", "game_update_matrix", "gan_1d_checks", "gan_1d_gradients", "gan_1d_losses", "generator",
    "jacobian_eigenvalues", "logit", "match", "play", "preset", "preset_diagnosis", "run", "sigmoid", "softplus",
    "spectral_radius", "spectral_radius_map", "train_gan_1d", "update_eigenvalues", "update_matrix",
]
