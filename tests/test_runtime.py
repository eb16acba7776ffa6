"""Precision is chosen by the hardware for "auto", pinned otherwise, and stated in records."""

import pytest
import torch

from lt_lab import runtime
from lt_lab.errors import ConfigError
from lt_lab.runtime import autocast, grad_scaler, resolve_precision

CUDA = torch.device("cuda")
CPU = torch.device("cpu")


@pytest.mark.parametrize(("capability", "expected"), [((7, 5), "fp16"), ((7, 0), "fp16"),
                                                      ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_on_a_gpu_is_bf16_from_ampere_on_and_fp16_before(monkeypatch, capability, expected):
    monkeypatch.setattr(runtime, "cuda_capability", lambda device: capability)
    assert resolve_precision("auto", CUDA) == expected


def test_fp16_on_a_gpu_without_bf16_gets_a_gradient_scaler(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_capability", lambda device: (7, 5))  # a T4
    assert isinstance(grad_scaler(CUDA, resolve_precision("auto", CUDA)), torch.amp.GradScaler)
    assert grad_scaler(CUDA, "bf16") is None and grad_scaler(CPU, "fp32") is None


def test_pinned_bf16_on_an_old_gpu_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_capability", lambda device: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla T4")
    with pytest.raises(ConfigError, match="precision='bf16' on Tesla T4"):
        resolve_precision("bf16", CUDA)


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_a_cpu_follows_its_native_bf16(monkeypatch, native, expected):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
    assert resolve_precision("auto", CPU) == expected


def test_pinned_precisions_stay_pinned_on_any_cpu(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("bf16", CPU) == "bf16"  # emulated: slower, same meaning
    assert resolve_precision("fp32", CPU) == "fp32"
    with pytest.raises(ConfigError, match="precision='fp16' needs a CUDA GPU"):
        resolve_precision("fp16", CPU)
    with pytest.raises(ConfigError, match="precision='fp8' is not known"):
        resolve_precision("fp8", CPU)


def test_bf16_autocast_computes_matrix_products_in_bf16_and_fp32_does_not():
    x, w = torch.randn(4, 8), torch.randn(8, 3)
    with autocast(CPU, "bf16"):
        assert (x @ w).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert (x @ w).dtype == torch.float32


def test_threads_are_restored():
    before = torch.get_num_threads()
    with runtime.threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.data
def test_a_record_states_the_precision_it_computed_in(store):
    from lt_lab.config import make_config
    from lt_lab.train import fit

    config = make_config("smoke", epochs=1, precision="bf16", device="cpu")
    record = fit(config, store=store).record
    assert record["precision"] == "bf16" and record["config"]["precision"] == "bf16"
    assert config.key() != config.replace(precision="fp32").key()
