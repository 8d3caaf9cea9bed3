"""llmcost's Python API: the same documents as the command line's JSON, models named the same ways,
errors as exceptions with the command's one-line message, flat records for pandas."""
import json
import math
import os

import pytest

import llmcost
from conftest import ROOT


def llama_params(c):
    """A Llama config's parameter count by hand: embeddings (+ untied head), per layer q/k/v/o,
    gate/up/down and two RMSNorms, the final norm."""
    d, v, layers, ffn = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"], c["intermediate_size"]
    hd = c.get("head_dim", d // c["num_attention_heads"])
    q = c["num_attention_heads"] * hd
    kv = c["num_key_value_heads"] * hd
    attn = d * q + 2 * d * kv + q * d
    mlp = 3 * d * ffn
    embed = v * d * (1 if c.get("tie_word_embeddings") else 2)
    return embed + layers * (attn + mlp + 2 * d) + d


def test_llama_8b_total_matches_hand_count():
    with open(os.path.join(llmcost.config_dir(), "models", "meta-llama__Llama-3.1-8B.json")) as f:
        config = json.load(f)
    # 128256*4096*2 + 32*(2*4096*4096 + 2*4096*1024 + 3*4096*14336 + 2*4096) + 4096
    assert llama_params(config) == 8030261248
    assert llmcost.analyze("meta-llama/Llama-3.1-8B")["params"]["total"] == 8030261248


def test_models_named_as_on_the_command_line():
    by_id = llmcost.analyze("meta-llama/Llama-3.1-8B")
    by_path = llmcost.analyze(os.path.join(llmcost.config_dir(), "models", "meta-llama__Llama-3.1-8B.json"))
    assert by_path["params"] == by_id["params"]
    stem = llmcost.analyze("meta-llama__Llama-3.1-8B")
    assert stem["params"] == by_id["params"]


def test_dict_model_is_a_hypothetical_config():
    config = {"model_type": "llama", "hidden_size": 256, "num_attention_heads": 8, "num_key_value_heads": 2,
              "intermediate_size": 512, "vocab_size": 1000, "num_hidden_layers": 3, "tie_word_embeddings": True}
    # head_dim 256/8 = 32, kv width 2*32 = 64:
    # 1000*256 + 3*(256*256 + 2*256*64 + 256*256 + 3*256*512 + 2*256) + 256 = 1928960
    assert llama_params(config) == 1928960
    assert llmcost.analyze(config)["params"]["total"] == 1928960


def test_analyze_is_the_cli_document(cli_json):
    assert llmcost.analyze("mistralai/Mixtral-8x7B-v0.1", context=8192, kv_dtype="fp8") == cli_json(
        "analyze", "mistralai/Mixtral-8x7B-v0.1", "--context", "8192", "--kv-dtype", "fp8")


def test_predict_plan_compare_are_the_cli_documents(cli_json):
    assert llmcost.predict("meta-llama/Llama-3.1-8B", "h100-sxm", batch=8, tp=2) == cli_json(
        "predict", "meta-llama/Llama-3.1-8B", "--hw", "h100-sxm", "--batch", "8", "--tp", "2")
    assert llmcost.plan("chat-sizing") == cli_json("plan", "chat-sizing")
    assert llmcost.compare("Qwen/Qwen3-30B-A3B", hw=["h100-sxm", "l40s"], roofline=True) == cli_json(
        "compare", "Qwen/Qwen3-30B-A3B", "--hw", "h100-sxm,l40s", "--roofline")


def test_unknown_model_raises_the_cli_line(cli):
    rc, out, err = cli("analyze", "no-such/model")
    assert rc == 1 and out == ""
    with pytest.raises(llmcost.InputError) as e:
        llmcost.analyze("no-such/model")
    assert err == f"llmcost: error: {e.value}\n"
    assert e.value.kind == "bad input"


def test_bad_option_is_a_usage_error(cli):
    with pytest.raises(llmcost.UsageError) as e:
        llmcost.predict("meta-llama/Llama-3.1-8B", "h100-sxm", batch=0)
    rc, _, err = cli("predict", "meta-llama/Llama-3.1-8B", "--hw", "h100-sxm", "--batch", "0")
    assert rc == 2 and str(e.value) in err
    with pytest.raises(llmcost.UsageError):
        llmcost.analyze("meta-llama/Llama-3.1-8B", no_such_option=1)


def test_bad_config_dict_is_a_config_error():
    with pytest.raises(llmcost.ConfigError) as e:
        llmcost.analyze({"model_type": "llama", "hidden_size": 256})
    assert "hypothetical.json" in str(e.value)
    assert isinstance(e.value, llmcost.LlmcostError)


def test_not_runnable_prediction_is_returned_with_its_reason():
    p = llmcost.predict("meta-llama/Llama-3.1-8B", "h100-sxm", context=200000)
    assert p["runnable"] is False and "max_position_embeddings" in p["reason"]
    assert p["decode"] is None


def test_to_records_flat_rows():
    plan = llmcost.plan("chat-sizing")
    recs = llmcost.to_records(plan)
    assert len(recs) == len(plan["rows"]) > 0
    for rec, row in zip(recs, plan["rows"]):
        assert all(not isinstance(v, dict) for v in rec.values())
        for k, v in row.items():
            if not isinstance(v, dict):
                assert rec[k] == v
    p = llmcost.predict("meta-llama/Llama-3.1-8B", "h100-sxm")
    one = llmcost.to_records(p)
    assert len(one) == 1 and one[0]["memory.fits"] is True and one[0]["decode.step_s"] == p["decode"]["step_s"]
    fits = llmcost.to_records(p, "fit_by_device_count")
    assert [r["devices"] for r in fits] == [f["devices"] for f in p["fit_by_device_count"]]
    with pytest.raises(KeyError):
        llmcost.to_records(plan, "no-such-list")


def test_sweep_matches_single_predictions():
    batches, contexts = [1, 16, 64], [1024, 8192, 200000]
    s = llmcost.predict_sweep("meta-llama/Llama-3.1-8B", "h100-sxm", batches, contexts, kv_dtype="fp8")
    assert s.rows == 9
    recs = s.to_records()
    assert [(r["batch"], r["context"]) for r in recs] == [(b, c) for b in batches for c in contexts]
    for r in recs:
        p = llmcost.predict("meta-llama/Llama-3.1-8B", "h100-sxm", batch=r["batch"], context=r["context"],
                            kv_dtype="fp8")
        assert r["runnable"] == p["runnable"]
        assert r["memory.per_device_bytes"] == pytest.approx(p["memory"]["per_device_bytes"], rel=1e-12)
        assert r["memory.max_batch"] == p["memory"]["max_batch"]
        if p["runnable"]:
            assert r["decode.step_s"] == pytest.approx(p["decode"]["step_s"], rel=1e-12)
            assert r["prefill.s"] == pytest.approx(p["prefill"]["s"], rel=1e-12)
        else:
            assert r["decode.step_s"] is None and math.isnan(s["decode.step_s"][recs.index(r)])


def test_sweep_errors_are_exceptions():
    with pytest.raises(llmcost.InputError):
        llmcost.predict_sweep("no-such/model", "h100-sxm", [1], [1024])
    with pytest.raises(llmcost.UsageError):
        llmcost.predict_sweep("meta-llama/Llama-3.1-8B", "h100-sxm", [1], [1024], quant="fp7")


def test_report_html_repr(tmp_path):
    r = llmcost.report("chat-sizing")
    assert r.html.lstrip().lower().startswith("<!doctype html")
    html = r._repr_html_()
    assert html.startswith("<iframe") and "&lt;svg" in html
    assert isinstance(r.data, dict) and r.markdown
    out = tmp_path / "r.html"
    r.save(out)
    assert out.read_text() == r.html


def test_config_dir_holds_the_bundled_configs(cli_json):
    d = llmcost.config_dir()
    for sub in ("models", "hardware", "scenarios"):
        assert os.path.isdir(os.path.join(d, sub))
    assert llmcost.models() == cli_json("models")
    assert len(llmcost.hardware()) == len([f for f in os.listdir(os.path.join(d, "hardware")) if f.endswith(".yaml")])


def test_console_script_runs_the_cli(cli):
    rc, out, err = cli("analyze", "meta-llama/Llama-3.1-8B")
    assert rc == 0 and "8,030,261,248" in out.replace(" ", "") or "8030261248" in out
    rc, _, err = cli("frobnicate")
    assert rc == 2 and err.startswith("llmcost: usage error: unknown subcommand")
