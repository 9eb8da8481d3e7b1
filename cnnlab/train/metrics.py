"""Classification metrics: accuracy, loss, confusion matrix, and for two classes
precision, recall, F1 and ROC-AUC of a positive class (class 1 unless told otherwise).

The NumPy functions are checked against scikit-learn in the tests.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "binary_metrics", "roc_auc", "predict_logits", "evaluate_model",
           "summarise_logits", "to_normalised_tensor", "safe_std", "MIN_STD"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
    array([[1, 0],
           [1, 1]])
    """
    index = np.asarray(y_true) * num_classes + np.asarray(y_pred)
    return np.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties 1/2.

    Computed from average ranks (Mann-Whitney U). NaN when one class is absent.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y_true = np.asarray(y_true).astype(bool)
    n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = np.asarray(score)[order]
    ranks = np.empty(len(order), dtype=float)
    # average rank within each group of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(avg, counts)
    u = ranks[y_true].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 (of class 1) and ROC-AUC (of ``score``, the class-1 probability).

    A ratio with a zero denominator is 0, as scikit-learn's ``zero_division=0``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "roc_auc": roc_auc(y_true, score)}


def predict_logits(model, x, batch_size: int = 1024, amp: bool = False):
    """Logits (N, K) of ``model`` in eval mode for a normalised tensor x: (N, C, H, W)."""
    import torch

    model.eval()
    out = []
    starts = range(0, x.shape[0], batch_size)
    if hasattr(x, "plan"):  # images read from disk: the workers read ahead (cnnlab.train.batches)
        x.plan([slice(i, i + batch_size) for i in starts])
    with torch.inference_mode(), torch.autocast(x.device.type, enabled=amp and x.device.type == "cuda"):
        for i in starts:
            out.append(model(x[i:i + batch_size]).float())
    return torch.cat(out)  # (N, K)


def evaluate_model(model, x: np.ndarray, y: np.ndarray, mean: np.ndarray, std: np.ndarray, *,
                   device: str = "cpu", batch_size: int = 1024, num_classes: int | None = None,
                   amp: bool = False, positive: int = 1) -> dict:
    """Accuracy, loss, predictions and confusion matrix of ``model`` on (x, y).

    x: (N, C, H, W) float in [0, 1], not normalised, or StoredImages (read per batch);
    y: (N,) ints; mean, std: (C,).
    Two classes add precision, recall, f1 and roc_auc. ``predictions``: (N,) int array.
    """
    import torch

    N, C, H, W = x.shape
    if hasattr(x, "raw"):  # StoredImages (cnnlab.data.stored): prepared a batch at a time
        from cnnlab.train.batches import DeviceImages, StreamedImages

        images = StreamedImages if not isinstance(x.raw, np.ndarray) else DeviceImages
        xt = images(x, np.asarray(mean, np.float32), safe_std(std), torch.device(device))
    else:
        xt = to_normalised_tensor(x, mean, std, device)
    logits = predict_logits(model.to(device), xt, batch_size, amp)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long, device=logits.device)
    return summarise_logits(logits, yt, num_classes or int(logits.shape[1]), positive)


def summarise_logits(logits, y, num_classes: int, positive: int = 1) -> dict:
    """Metrics from logits (N, K) and labels (N,) (tensors on any device).

    For two classes, ``positive`` (0 or 1) is the class whose precision, recall, F1 and
    ROC-AUC are reported (the "on" of an on/off power-plant classifier).
    """
    import torch.nn.functional as F

    loss = float(F.cross_entropy(logits, y)) if len(y) else float("nan")
    pred = logits.argmax(1)
    y_np, pred_np = y.cpu().numpy(), pred.cpu().numpy()
    result = {"accuracy": float((pred == y).float().mean()) if len(y) else float("nan"),
              "loss": loss, "n": int(len(y)), "predictions": pred_np,
              "confusion": confusion_matrix(y_np, pred_np, num_classes)}
    if num_classes == 2:
        score = logits.softmax(1)[:, positive].cpu().numpy()
        result.update(binary_metrics((y_np == positive).astype(int), (pred_np == positive).astype(int), score))
    return result


def to_normalised_tensor(x: np.ndarray, mean: np.ndarray, std: np.ndarray, device: str = "cpu"):
    """(x - mean) / std per channel as a float32 tensor on ``device``. x: (N, C, H, W)."""
    import torch

    N, C, H, W = x.shape
    mean = np.asarray(mean, dtype=np.float32).reshape(1, C, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(1, C, 1, 1)
    std = safe_std(std)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    return (xt - torch.as_tensor(mean, device=device)) / torch.as_tensor(std, device=device)


# A channel whose std is below this is constant up to rounding: dividing by it would only
# blow rounding noise up to huge values (1e-38 gives an infinite loss), so it is centred alone.
MIN_STD = 1e-6


def safe_std(std: np.ndarray) -> np.ndarray:
    """Per-channel std with values under ``MIN_STD`` replaced by 1 (a constant channel is only centred).

    >>> safe_std([0.0, 1e-38, 0.3]).tolist() == [1.0, 1.0, np.float32(0.3)]
    True
    """
    std = np.asarray(std, dtype=np.float32)
    return np.where(std >= MIN_STD, std, 1.0).astype(np.float32)
