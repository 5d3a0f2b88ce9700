"""Convolution: the conv2d layer's forward and exact backward pass (calc_core.convolution.core), the
gradient checks of the layer and of the training step (.checks), learning a kernel by gradient
descent (.learning), kernels and images (.kernels), the tutorial's backward pass measured against the
rule (.tutorial), and the page's Settings → run → Result (.lab)."""

from calc_core.convolution.checks import layer_gradient_checks, pixel_groups, training_gradient_checks
from calc_core.convolution.core import (LOSSES, ConvolutionResult, conv2d_backward, conv2d_forward, correlate, dilate,
                                        full_convolution, input_gradient, kernel_gradient, output_shape,
                                        run_convolution)
from calc_core.convolution.lab import PRESETS, Learning, Result, Settings, diagnose, learn, preset_diagnosis, run
from calc_core.convolution.learning import (KernelFit, KernelLesson, LearningRateBounds, fit_kernel, kernel_gram_matrix,
                                            kernel_lesson, learning_rate_bounds)
from calc_core.convolution.tutorial import TutorialComparison, compare_with_tutorial, tutorial_backward

__all__ = [
    "LOSSES", "PRESETS", "ConvolutionResult", "KernelFit", "KernelLesson", "Learning", "LearningRateBounds", "Result",
    "Settings", "TutorialComparison", "compare_with_tutorial", "conv2d_backward", "conv2d_forward", "correlate",
    "diagnose", "dilate", "fit_kernel", "full_convolution", "input_gradient", "kernel_gradient", "kernel_gram_matrix",
    "kernel_lesson", "layer_gradient_checks", "learn", "learning_rate_bounds", "output_shape", "pixel_groups",
    "preset_diagnosis", "run", "run_convolution", "training_gradient_checks", "tutorial_backward",
]
