"""The lab's applications: one row of the home page's table each, and the page that shows it.

This is the single place that names the pages: the home page builds its table from it and every
page takes its title and icon from it, so a page and its link cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Application:
    name: str
    concept: str
    enables: str
    page: str | None  # path of the page file relative to the repository root
    icon: str
    blurb: str

    @property
    def available(self) -> bool:
        return self.page is not None and (ROOT / self.page).is_file()


APPLICATIONS = (
    Application("Recommendations", "Gradients of a regularized loss", "Learning user preferences",
                "pages/1_Recommendations.py", ":material/recommend:",
                "Matrix factorization trained by SGD, one rating at a time."),
    Application("NLP / Transformers", "Softmax derivatives", "Attention mechanisms",
                "pages/2_Attention.py", ":material/translate:",
                "Scaled dot-product attention, the softmax Jacobian and backprop through attention."),
    Application("Computer Vision", "Convolution backprop", "Learning visual features",
                "pages/3_Convolution.py", ":material/image:",
                "conv2d forward, a correct backward pass, and learning a kernel."),
    Application("Reinforcement Learning", "Policy gradients", "Learning from rewards",
                "pages/4_Policy_Gradient.py", ":material/sports_esports:",
                "REINFORCE learning to balance a cart-pole."),
    Application("Sensor Fusion", "Jacobians", "Tracking and prediction",
                "pages/5_Sensor_Fusion.py", ":material/directions_car:",
                "An extended Kalman filter tracking a turning vehicle."),
    Application("GANs", "Minimax optimization", "Generating realistic data", None,
                ":material/auto_awesome:", "Two networks playing a differentiable game."),
    Application("Diffusion Models", "Score functions", "Image generation", None,
                ":material/blur_on:", "Denoising by following the gradient of the log-density."),
)


def application(page: str) -> Application:
    """The catalog entry of a page file (``pages/1_Recommendations.py``)."""
    for app in APPLICATIONS:
        if app.page == page:
            return app
    raise KeyError(f"{page} is not in ui.catalog.APPLICATIONS")
