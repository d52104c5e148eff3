"""Architecture detection from tensor names, on the naming conventions real checkpoints use."""

from __future__ import annotations

import pytest

from core.analysis.census import ARCHITECTURES, GROUPS, TensorInfo, census, tensor_group
from tests.fakes.gguf_file import llama_tensors


def infos(names: dict[str, tuple[int, ...]]) -> list[TensorInfo]:
    return [TensorInfo(name, shape) for name, shape in names.items()]


def hf_llama(layers: int = 4, experts: int = 0) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (1000, 64)}
    for i in range(layers):
        p = f"model.layers.{i}"
        out |= {
            f"{p}.input_layernorm.weight": (64,),
            f"{p}.self_attn.q_proj.weight": (64, 64),
            f"{p}.self_attn.k_proj.weight": (16, 64),
            f"{p}.self_attn.v_proj.weight": (16, 64),
            f"{p}.self_attn.o_proj.weight": (64, 64),
            f"{p}.post_attention_layernorm.weight": (64,),
        }
        if experts:
            out[f"{p}.block_sparse_moe.gate.weight"] = (experts, 64)
            for e in range(experts):
                for w in ("w1", "w2", "w3"):
                    out[f"{p}.block_sparse_moe.experts.{e}.{w}.weight"] = (128, 64)
        else:
            for w in ("gate_proj", "up_proj", "down_proj"):
                out[f"{p}.mlp.{w}.weight"] = (128, 64)
    out |= {"model.norm.weight": (64,), "lm_head.weight": (1000, 64)}
    return out


def test_hf_llama_decoder() -> None:
    c = census(infos(hf_llama(layers=4)))
    assert (c.architecture, c.architecture_class) == ("transformer-decoder", "decoder-only")
    assert (c.layers, c.decoder_layers, c.encoder_layers) == (4, 4, None)
    assert c.counts == {
        "attention": 16, "mlp": 12, "norm": 9, "conv": 0, "embedding": 2, "other": 0,
    }  # fmt: skip
    assert c.params["embedding"] == 2 * 1000 * 64
    assert c.tensors == len(hf_llama(layers=4)) and c.experts == 0
    assert "LM head" in c.evidence


def test_mixtral_style_experts() -> None:
    c = census(infos(hf_llama(layers=2, experts=8)))
    assert c.architecture == "transformer-decoder" and c.layers == 2
    assert c.experts == 8 and "mixture of experts (8)" in c.evidence
    assert c.counts["mlp"] == 2 * (8 * 3 + 1)


def test_gguf_llama_names() -> None:
    tensors = [TensorInfo(t.name, t.shape, t.type) for t in llama_tensors(layers=3)]
    c = census(tensors)
    assert (c.architecture, c.layers) == ("transformer-decoder", 3)
    assert c.counts == {
        "attention": 12, "mlp": 9, "norm": 7, "conv": 0, "embedding": 2, "other": 0,
    }  # fmt: skip


def test_gguf_moe_experts_from_the_shape() -> None:
    names = {
        "token_embd.weight": (64, 100),
        "blk.0.attn_q.weight": (64, 64),
        "blk.0.ffn_gate_inp.weight": (64, 16),
        "blk.0.ffn_up_exps.weight": (64, 128, 16),  # ggml order: experts outermost (last)
        "output.weight": (64, 100),
    }
    c = census(infos(names))
    assert c.experts == 16 and c.architecture == "transformer-decoder"


def test_gpt2_and_opt_are_decoders() -> None:
    gpt2 = {"transformer.wte.weight": (50257, 64), "transformer.wpe.weight": (1024, 64)}
    for i in range(3):
        gpt2 |= {
            f"transformer.h.{i}.ln_1.weight": (64,),
            f"transformer.h.{i}.attn.c_attn.weight": (64, 192),
            f"transformer.h.{i}.attn.c_proj.weight": (64, 64),
            f"transformer.h.{i}.ln_2.weight": (64,),
            f"transformer.h.{i}.mlp.c_fc.weight": (64, 256),
            f"transformer.h.{i}.mlp.c_proj.weight": (256, 64),
        }
    gpt2["transformer.ln_f.weight"] = (64,)
    c = census(infos(gpt2))
    assert (c.architecture, c.layers) == ("transformer-decoder", 3)
    assert c.counts == {
        "attention": 6, "mlp": 6, "norm": 7, "conv": 0, "embedding": 2, "other": 0,
    }  # fmt: skip
    opt = {
        "model.decoder.embed_tokens.weight": (100, 8),
        "model.decoder.layers.0.self_attn.q_proj.weight": (8, 8),
        "model.decoder.layers.0.fc1.weight": (32, 8),
        "model.decoder.layers.1.self_attn.q_proj.weight": (8, 8),
        "model.decoder.layers.1.fc2.weight": (8, 32),
    }
    c = census(infos(opt))
    assert (c.architecture, c.decoder_layers, c.encoder_layers) == ("transformer-decoder", 2, None)
    assert c.counts["mlp"] == 2


def bert(layers: int = 2) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {
        "bert.embeddings.word_embeddings.weight": (30522, 64),
        "bert.embeddings.position_embeddings.weight": (512, 64),
        "bert.embeddings.token_type_embeddings.weight": (2, 64),
        "bert.embeddings.LayerNorm.weight": (64,),
    }
    for i in range(layers):
        p = f"bert.encoder.layer.{i}"
        out |= {
            f"{p}.attention.self.query.weight": (64, 64),
            f"{p}.attention.self.key.weight": (64, 64),
            f"{p}.attention.self.value.weight": (64, 64),
            f"{p}.attention.output.dense.weight": (64, 64),
            f"{p}.attention.output.LayerNorm.weight": (64,),
            f"{p}.intermediate.dense.weight": (256, 64),
            f"{p}.output.dense.weight": (64, 256),
            f"{p}.output.LayerNorm.weight": (64,),
        }
    out["bert.pooler.dense.weight"] = (64, 64)
    return out


def test_bert_encoder() -> None:
    c = census(infos(bert(layers=3)))
    assert (c.architecture, c.architecture_class) == ("transformer-encoder", "encoder-only")
    assert (c.layers, c.encoder_layers, c.decoder_layers) == (3, 3, None)
    assert c.counts == {
        "attention": 12, "mlp": 6, "norm": 7, "conv": 0, "embedding": 3, "other": 1,
    }  # fmt: skip


def test_gguf_bert_by_its_token_types() -> None:
    names = {
        "token_embd.weight": (64, 100),
        "token_types.weight": (64, 2),
        "blk.0.attn_q.weight": (64, 64),
        "blk.0.attn_output_norm.weight": (64,),
        "blk.0.ffn_up.weight": (64, 256),
        "blk.1.attn_q.weight": (64, 64),
    }
    c = census(infos(names))
    assert (c.architecture, c.encoder_layers, c.layers) == ("transformer-encoder", 2, 2)


def t5(layers: int = 2) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {"shared.weight": (32128, 64)}
    for stack in ("encoder", "decoder"):
        for i in range(layers):
            p = f"{stack}.block.{i}.layer"
            for w in ("q", "k", "v", "o"):
                out[f"{p}.0.SelfAttention.{w}.weight"] = (64, 64)
            out[f"{p}.0.layer_norm.weight"] = (64,)
            ff = 1
            if stack == "decoder":
                for w in ("q", "k", "v", "o"):
                    out[f"{p}.1.EncDecAttention.{w}.weight"] = (64, 64)
                out[f"{p}.1.layer_norm.weight"] = (64,)
                ff = 2
            out[f"{p}.{ff}.DenseReluDense.wi.weight"] = (256, 64)
            out[f"{p}.{ff}.DenseReluDense.wo.weight"] = (64, 256)
            out[f"{p}.{ff}.layer_norm.weight"] = (64,)
        out[f"{stack}.final_layer_norm.weight"] = (64,)
    out["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (32, 8)
    out["lm_head.weight"] = (32128, 64)
    return out


def test_t5_encoder_decoder() -> None:
    c = census(infos(t5(layers=3)))
    assert (c.architecture, c.architecture_class) == (
        "transformer-encoder-decoder",
        "encoder-decoder",
    )
    assert (c.encoder_layers, c.decoder_layers, c.layers) == (3, 3, 6)
    assert "cross-attention" in c.evidence
    assert c.counts["attention"] == 3 * 4 + 3 * 8 + 1
    assert c.counts["mlp"] == 12 and c.counts["embedding"] == 2


def test_gguf_t5_and_whisper() -> None:
    gguf_t5 = {
        "token_embd.weight": (64, 100),
        "enc.blk.0.attn_q.weight": (64, 64),
        "enc.blk.1.attn_q.weight": (64, 64),
        "dec.blk.0.attn_q.weight": (64, 64),
        "dec.blk.0.cross_attn_q.weight": (64, 64),
    }
    c = census(infos(gguf_t5))
    assert (c.architecture, c.encoder_layers, c.decoder_layers) == (
        "transformer-encoder-decoder",
        2,
        1,
    )
    whisper = {
        "model.encoder.conv1.weight": (384, 80, 3),
        "model.encoder.conv2.weight": (384, 384, 3),
        "model.encoder.embed_positions.weight": (1500, 384),
        "model.encoder.layers.0.self_attn.q_proj.weight": (384, 384),
        "model.encoder.layers.0.fc1.weight": (1536, 384),
        "model.decoder.embed_tokens.weight": (51865, 384),
        "model.decoder.layers.0.self_attn.q_proj.weight": (384, 384),
        "model.decoder.layers.0.encoder_attn.q_proj.weight": (384, 384),
        "model.decoder.layers.0.fc1.weight": (1536, 384),
    }
    c = census(infos(whisper))
    assert c.architecture == "transformer-encoder-decoder" and c.architecture_class == "speech"
    assert c.counts["conv"] == 2


def resnet18() -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {"conv1.weight": (64, 3, 7, 7)}

    def bn(prefix: str, width: int) -> None:
        for k in ("weight", "bias", "running_mean", "running_var"):
            out[f"{prefix}.{k}"] = (width,)
        out[f"{prefix}.num_batches_tracked"] = ()

    bn("bn1", 64)
    widths = (64, 128, 256, 512)
    for stage, width in enumerate(widths, start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            inner = widths[stage - 2] if stage > 1 and block == 0 else width
            out[f"{p}.conv1.weight"] = (width, inner, 3, 3)
            bn(f"{p}.bn1", width)
            out[f"{p}.conv2.weight"] = (width, width, 3, 3)
            bn(f"{p}.bn2", width)
            if stage > 1 and block == 0:
                out[f"{p}.downsample.0.weight"] = (width, inner, 1, 1)
                bn(f"{p}.downsample.1", width)
    out |= {"fc.weight": (1000, 512), "fc.bias": (1000,)}
    return out


def test_resnet_like_cnn() -> None:
    c = census(infos(resnet18()))
    assert (c.architecture, c.architecture_class) == ("cnn", "vision")
    assert c.counts["conv"] == 1 + 16 + 3  # stem, 2 per block, 3 downsample projections
    assert c.counts["norm"] == 5 * (1 + 16 + 3)  # downsample.1.* are BatchNorm too
    assert c.counts["attention"] == c.counts["mlp"] == 0
    assert c.counts["other"] == 2  # the classifier
    assert c.layers == 20 + 1  # conv weights + the fc layer
    assert c.encoder_layers is None and c.decoder_layers is None


def test_vision_transformer_and_multimodal() -> None:
    vit = {
        "vit.embeddings.cls_token": (1, 1, 64),
        "vit.embeddings.patch_embeddings.projection.weight": (64, 3, 16, 16),
        "vit.encoder.layer.0.attention.attention.query.weight": (64, 64),
        "vit.encoder.layer.0.intermediate.dense.weight": (256, 64),
        "vit.encoder.layer.1.attention.attention.query.weight": (64, 64),
        "vit.layernorm.weight": (64,),
        "classifier.weight": (1000, 64),
    }
    c = census(infos(vit))
    assert (c.architecture, c.architecture_class, c.layers) == ("vision-transformer", "vision", 2)
    assert c.counts["conv"] == 0 and c.counts["embedding"] == 2
    llava = {
        "vision_tower.vision_model.embeddings.patch_embedding.weight": (64, 3, 14, 14),
        "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight": (64, 64),
        "multi_modal_projector.linear_1.weight": (64, 64),
        "language_model.model.layers.0.self_attn.q_proj.weight": (64, 64),
        "language_model.model.layers.1.self_attn.q_proj.weight": (64, 64),
        "language_model.lm_head.weight": (100, 64),
    }
    c = census(infos(llava))
    assert (c.architecture, c.architecture_class) == ("multimodal-transformer", "multimodal")
    assert c.layers == 3


def test_state_space_model() -> None:
    names = {
        "backbone.embeddings.weight": (100, 64),
        "backbone.layers.0.mixer.A_log": (128, 16),
        "backbone.layers.0.mixer.conv1d.weight": (128, 1, 4),
        "backbone.layers.0.mixer.in_proj.weight": (256, 64),
        "backbone.layers.1.mixer.A_log": (128, 16),
    }
    c = census(infos(names))
    assert (c.architecture, c.architecture_class, c.layers) == ("state-space", "decoder-only", 2)


def test_onnx_anonymous_names_fall_back_to_operators() -> None:
    anonymous = infos({"onnx::MatMul_101": (64, 64), "onnx::MatMul_102": (64, 256)})
    c = census(anonymous, ops={"MatMul": 48, "Softmax": 12, "LayerNormalization": 25})
    assert c.architecture == "transformer" and c.architecture_class is None
    assert "Softmax" in c.evidence
    c = census(anonymous, ops={"com.microsoft.GroupQueryAttention": 24, "MatMul": 96})
    assert c.architecture == "transformer" and "fused attention" in c.evidence
    c = census(infos({"onnx::Conv_1": (64, 3, 7, 7)}), ops={"Conv": 53, "Gemm": 1, "Relu": 49})
    assert c.architecture == "cnn"
    assert census(anonymous, ops={"Add": 3}).architecture == "unknown"


def test_unknown_names() -> None:
    c = census(infos({"foo": (3, 3), "bar.baz": (2,)}))
    assert c.architecture == "unknown" and c.architecture_class is None and c.layers is None
    assert census([]).architecture == "unknown"


@pytest.mark.parametrize(
    ("name", "shape", "group"),
    [
        ("model.layers.0.self_attn.q_proj.weight", (8, 8), "attention"),
        ("model.layers.0.post_attention_layernorm.weight", (8,), "norm"),
        ("blk.0.attn_norm.weight", (8,), "norm"),
        ("blk.0.ffn_gate.weight", (8, 8), "mlp"),
        ("output_norm.weight", (8,), "norm"),
        ("output.weight", (8, 8), "embedding"),
        ("layers.0.attention.wo.weight", (8, 8), "attention"),  # Meta's original llama names
        ("layers.0.feed_forward.w2.weight", (8, 8), "mlp"),
        ("encoder.block.0.layer.1.DenseReluDense.wo.weight", (8, 8), "mlp"),  # T5's wo
        ("bert.encoder.layer.0.attention.output.dense.weight", (8, 8), "attention"),
        ("bert.encoder.layer.0.output.dense.weight", (8, 8), "mlp"),
        ("transformer.h.0.attn.c_proj.weight", (8, 8), "attention"),
        ("transformer.h.0.mlp.c_proj.weight", (8, 8), "mlp"),
        ("features.0.weight", (8, 3, 3, 3), "conv"),
        ("v.blk.0.ln1.weight", (8,), "norm"),
        ("v.patch_embd.weight", (8, 3, 14, 14), "embedding"),
        ("classifier.bias", (10,), "other"),
    ],
)
def test_tensor_groups(name: str, shape: tuple[int, ...], group: str) -> None:
    assert tensor_group(name, shape) == group


def test_every_label_and_group_is_declared() -> None:
    labels = {
        census(infos(x)).architecture
        for x in (hf_llama(2), bert(), t5(), resnet18(), {"a.A_log": (1,)}, {"x": (1,)})
    }
    assert labels <= set(ARCHITECTURES)
    assert set(census([]).counts) == set(GROUPS)
    assert census(infos(bert())).to_json()["counts"] == census(infos(bert())).counts
