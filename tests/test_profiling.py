"""vitcourse.profiling: the cost measurements of lectures 02 and 03, checked against exact counts."""
import pytest
import torch
import torch.nn.functional as F

from vitcourse import MultiHeadAttention, scaled_dot_product_attention
from vitcourse.profiling import count_flops, cpu_time, peak_bytes, saved_tensor_bytes


def test_count_flops_is_two_per_multiply_add():
    a, b = torch.randn(3, 5), torch.randn(5, 7)
    assert count_flops(lambda: a @ b) == 2 * 3 * 5 * 7
    q, k, v = (torch.randn(1, 64, 8) for _ in range(3))
    assert count_flops(lambda: scaled_dot_product_attention(q, k, v)) == 2 * (2 * 64 * 64 * 8)   # QK^T and AV


def test_peak_bytes_sees_the_largest_live_tensor():
    n = 512
    peak = peak_bytes(lambda: torch.ones(n, n).sum())
    assert 4 * n * n <= peak < 4 * n * n + 4096, peak
    q, k, v = (torch.randn(1, n, 16) for _ in range(3))
    with torch.no_grad():
        explicit = peak_bytes(lambda: scaled_dot_product_attention(q, k, v))
        fused = peak_bytes(lambda: F.scaled_dot_product_attention(q, k, v))
    assert explicit >= 2 * 4 * n * n and fused < explicit / 4, (explicit, fused)   # the (N, N) matrices


def test_saved_tensor_bytes_counts_one_attention_matrix_per_head():
    n, heads = 24, 4                                                    # n is neither D nor D / heads
    layer = MultiHeadAttention(16, num_heads=heads, fast=False)
    total, square = saved_tensor_bytes(lambda: layer(torch.randn(1, n, 16, requires_grad=True)), square=n)
    assert square == heads * n * n * 4 and total > square   # one (N, N) matrix per head: the softmax output
    assert saved_tensor_bytes(lambda: layer(torch.randn(1, n, 16)))[1] == 0          # square=None: not counted
    with torch.no_grad():
        assert saved_tensor_bytes(lambda: layer(torch.randn(1, n, 16)), square=n) == (0, 0)   # nothing saved


def test_cpu_time_is_positive_and_restores_the_thread_count():
    threads = torch.get_num_threads()
    x = torch.randn(128, 128)
    assert 0 < cpu_time(lambda: x @ x, repeats=2) < 60
    assert torch.get_num_threads() == threads

    def boom():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        cpu_time(boom)
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("call, match", [
    (lambda: cpu_time(torch.ones(3)), "fn must be a callable with no arguments"),
    (lambda: peak_bytes(None), "wrapped in a lambda"),
    (lambda: cpu_time(lambda: None, repeats=0), "repeats must be >= 1"),
    (lambda: saved_tensor_bytes(lambda: None, square=0), "square must be >= 1"),
])
def test_bad_arguments_say_what_to_pass(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
