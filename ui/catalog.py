"""The lab's applications: one row of the home page's table each, and the page that shows it.

This is the single place that names the pages: the navigation (app.py), the home page's cards and
table, every page's title and the catalog-driven tests all read it, so a page and its link cannot
drift apart. ``lab`` names the calc_core module with the page's Settings, run and PRESETS.
"""

from __future__ import annotations

import importlib
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
    url_path: str = ""  # /Recommendations: links shared before keep working
    lab: str | None = None  # calc_core module with Settings, run, PRESETS
    thumbnail: str | None = None  # a small picture of the page, for the home page's card

    @property
    def available(self) -> bool:
        return self.page is not None and (ROOT / self.page).is_file()

    @property
    def slug(self) -> str:
        return self.url_path or self.name

    def lab_module(self):
        return importlib.import_module(self.lab) if self.lab else None

    @property
    def presets(self) -> tuple:
        module = self.lab_module()
        return tuple(getattr(module, "PRESETS", ())) if module else ()


APPLICATIONS = (
    Application("Recommendations", "Gradients of a regularized loss", "Learning user preferences",
                "pages/1_Recommendations.py", ":material/recommend:",
                "Matrix factorization trained by SGD, one rating at a time.",
                "Recommendations", "calc_core.recommender.lab", "docs/thumbnails/recommendations.png"),
    Application("NLP / Transformers", "Softmax derivatives", "Attention mechanisms",
                "pages/2_Attention.py", ":material/translate:",
                "Scaled dot-product attention, the softmax Jacobian and backprop through attention.",
                "Attention", "calc_core.attention.lab", "docs/thumbnails/attention.png"),
    Application("Computer Vision", "Convolution backprop", "Learning visual features",
                "pages/3_Convolution.py", ":material/image:",
                "conv2d forward, a correct backward pass, and learning a kernel.",
                "Convolution", "calc_core.convolution.lab", "docs/thumbnails/convolution.png"),
    Application("Reinforcement Learning", "Policy gradients", "Learning from rewards",
                "pages/4_Policy_Gradient.py", ":material/sports_esports:",
                "REINFORCE learning to balance a cart-pole.",
                "Policy_Gradient", "calc_core.policy_gradient.lab", "docs/thumbnails/policy_gradient.png"),
    Application("Sensor Fusion", "Jacobians", "Tracking and prediction",
                "pages/5_Sensor_Fusion.py", ":material/directions_car:",
                "An extended Kalman filter tracking a turning vehicle.",
                "Sensor_Fusion", "calc_core.kalman.lab", "docs/thumbnails/sensor_fusion.png"),
    Application("GANs", "Minimax optimization", "Generating realistic data",
                "pages/6_GANs.py", ":material/auto_awesome:",
                "Two players on a differentiable game: why simultaneous gradient steps spiral, and what converges.",
                "GANs", "calc_core.gan.lab", "docs/thumbnails/gans.png"),
    Application("Diffusion Models", "Score functions", "Image generation",
                "pages/7_Diffusion.py", ":material/blur_on:",
                "Following the gradient of the log-density from noise to data.",
                "Diffusion", "calc_core.diffusion.lab", "docs/thumbnails/diffusion.png"),
)


def application(page: str) -> Application:
    """The catalog entry of a page file (``pages/1_Recommendations.py``)."""
    for app in APPLICATIONS:
        if app.page == page:
            return app
    raise KeyError(f"{page} is not in ui.catalog.APPLICATIONS")
