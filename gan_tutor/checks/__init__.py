r"""Checks for the notebook exercises: run the learner's function, compare, name the likely mistake.

Each ``check_<name>(fn)`` calls the learner's ``fn`` on inputs it makes itself (fixed values, no global
random state touched), compares the result with values worked out from explicit formulas in float64 Python
arithmetic (``math.log1p``, ``math.exp``), never with the package's own solution, and

* on success prints one line starting with "✓";
* on failure raises :class:`CheckFailed` whose message names the likely mistake, found by computing what
  the common wrong answers would give and saying which one the learner's output matches, and where to look;
  when none matches, it says what was expected (the numbers, or the quantity and its shape);
* lets a ``NotImplementedError`` from ``fn`` (an unsolved exercise stub) propagate unchanged.

One module per notebook, named after its concept, on a shared :mod:`~gan_tutor.checks.core` (comparison,
conversion of the learner's result, diagnosis):

* notebook 01, :mod:`~gan_tutor.checks.gan_maths`: :func:`check_optimal_discriminator`,
  :func:`check_js_divergence`, :func:`check_d_loss`, :func:`check_g_loss_nonsaturating`;
* notebook 02, :mod:`~gan_tutor.checks.training_step`: :func:`check_d_step`, :func:`check_g_step`,
  :func:`check_d_loss_smoothed`;
* notebook 03, :mod:`~gan_tutor.checks.dcgan`: :func:`check_transposed_conv_size`, :func:`check_ema_update`,
  :func:`check_slerp`;
* notebook 04, :mod:`~gan_tutor.checks.cgan`: :func:`check_one_hot_maps`, :func:`check_projection_logits`,
  :func:`check_acgan_d_loss`;
* notebook 05, :mod:`~gan_tutor.checks.vae`: :func:`check_kl_std_normal`, :func:`check_reparameterize`,
  :func:`check_negative_elbo`;
* notebook 06, :mod:`~gan_tutor.checks.stylegan`: :func:`check_adain`, :func:`check_modulated_weights`,
  :func:`check_truncate`;
* notebook 07, :mod:`~gan_tutor.checks.evaluation`: :func:`check_mean_and_covariance`,
  :func:`check_frechet_from_stats`, :func:`check_mmd2_estimate`;
* notebook 08, :mod:`~gan_tutor.checks.stability`: :func:`check_wasserstein_losses`,
  :func:`check_gradient_penalty`, :func:`check_power_iteration`;
* notebook 09, :mod:`~gan_tutor.checks.cyclegan`: :func:`check_lsgan_d_loss`,
  :func:`check_generator_objective`, :func:`check_image_pool`.

A notebook runs ``from gan_tutor import checks`` and then ``checks.check_d_step(d_step)``.
"""

from .cgan import check_acgan_d_loss, check_one_hot_maps, check_projection_logits
from .core import CheckFailed
from .cyclegan import check_generator_objective, check_image_pool, check_lsgan_d_loss
from .dcgan import check_ema_update, check_slerp, check_transposed_conv_size
from .evaluation import check_frechet_from_stats, check_mean_and_covariance, check_mmd2_estimate
from .gan_maths import check_d_loss, check_g_loss_nonsaturating, check_js_divergence, check_optimal_discriminator
from .stability import check_gradient_penalty, check_power_iteration, check_wasserstein_losses
from .stylegan import check_adain, check_modulated_weights, check_truncate
from .training_step import check_d_loss_smoothed, check_d_step, check_g_step
from .vae import check_kl_std_normal, check_negative_elbo, check_reparameterize

__all__ = [
    "CheckFailed",
    "check_optimal_discriminator",
    "check_js_divergence",
    "check_d_loss",
    "check_g_loss_nonsaturating",
    "check_d_step",
    "check_g_step",
    "check_d_loss_smoothed",
    "check_transposed_conv_size",
    "check_ema_update",
    "check_slerp",
    "check_one_hot_maps",
    "check_projection_logits",
    "check_acgan_d_loss",
    "check_kl_std_normal",
    "check_reparameterize",
    "check_negative_elbo",
    "check_adain",
    "check_modulated_weights",
    "check_truncate",
    "check_mean_and_covariance",
    "check_frechet_from_stats",
    "check_mmd2_estimate",
    "check_wasserstein_losses",
    "check_gradient_penalty",
    "check_power_iteration",
    "check_lsgan_d_loss",
    "check_generator_objective",
    "check_image_pool",
]
