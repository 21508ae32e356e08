"""The training losses a net may declare (``loss``): the thesis's RMSE, and the concordance
correlation over the batch or per training segment (the AVEC/MuSe baselines')."""

from __future__ import annotations

import torch

from emorec.models.net_params import LOSS_NAMES


def _labelled(prediction: torch.Tensor, target: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(m, targets) predictions and labels of the labelled frames. A sequence model's outputs
    (batch, steps, targets) have NaN labels in their padding, which is left out; one output per
    sample (batch, 2) is taken as it is, so a NaN label there makes training diverge loudly."""
    if target.dim() == 2:
        return prediction, target
    width = target.shape[-1]
    prediction, target = prediction.reshape(-1, width), target.reshape(-1, width)
    keep = ~torch.isnan(target[:, 0])
    return prediction[keep], target[keep]


def rmse_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over targets of each target's RMSE (the thesis's loss)."""
    prediction, target = _labelled(prediction, target)
    return torch.sqrt(((prediction - target) ** 2).mean(dim=0) + 1e-12).mean()


def ccc_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean over targets of the batch's concordance correlation (the AVEC/MuSe loss)."""
    prediction, target = _labelled(prediction, target)
    mean_p, mean_t = prediction.mean(dim=0), target.mean(dim=0)
    var_p, var_t = prediction.var(dim=0, unbiased=False), target.var(dim=0, unbiased=False)
    cov = ((prediction - mean_p) * (target - mean_t)).mean(dim=0)
    ccc = 2 * cov / (var_p + var_t + (mean_p - mean_t) ** 2 + 1e-8)
    return 1 - ccc.mean()


def segment_ccc_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean over segments and targets of each training segment's concordance correlation
    (the AVEC/MuSe baselines' loss). Outputs (batch, steps, 2) with NaN labels in padding: one
    CCC per segment over its labelled steps. One output per sample (batch, 2): the batch is
    the segment, as :func:`ccc_loss`."""
    if target.dim() == 2:
        return ccc_loss(prediction, target)
    labelled = ~torch.isnan(target[..., :1])                     # (batch, steps, 1)
    weight = labelled.to(prediction.dtype)
    count = weight.sum(dim=1).clamp(min=1)                       # (batch, 1)
    target = torch.where(labelled, target, torch.zeros_like(target))
    mean_p = (prediction * weight).sum(dim=1) / count            # (batch, 2)
    mean_t = target.sum(dim=1) / count
    centred_p = (prediction - mean_p[:, None]) * weight
    centred_t = (target - mean_t[:, None]) * weight
    var_p = (centred_p ** 2).sum(dim=1) / count
    var_t = (centred_t ** 2).sum(dim=1) / count
    cov = (centred_p * centred_t).sum(dim=1) / count
    ccc = 2 * cov / (var_p + var_t + (mean_p - mean_t) ** 2 + 1e-8)
    return 1 - ccc.mean()


LOSSES = {"rmse": rmse_loss, "ccc": ccc_loss, "segment_ccc": segment_ccc_loss}

if tuple(LOSSES) != LOSS_NAMES:
    raise RuntimeError(f"net_params.LOSS_NAMES {LOSS_NAMES} must name the losses {tuple(LOSSES)}")
