"""Files users keep survive damage and crashes (DESIGN §6). Complements tests/test_bad_input.py
(truncation at four points, a 60-position byte sweep, foreign and future model files, a pickled
payload, a failed save) with: every byte of a model file flipped, agent and language-model files
damaged the same ways, a plugin that is not installed, bit-exact round trips of every model kind,
atomic saves of agents and language models, and a training run killed with SIGKILL in the middle
of writing a checkpoint that resumes from the last good one.
"""
from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

import ssmn_rl
from ssmn_rl import SSMN, ModelFileError, PlasticityRule
from ssmn_rl.agents import ES, PPO
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.text import SSMNLanguageModel

ROOT = Path(__file__).resolve().parent.parent
ENV = "ssmn/StatelessCartPole-v0"
MASKS = (0x01, 0x80, 0xFF)  # lowest bit, highest bit, whole byte


def flip_sweep(data: bytes, target: Path, load, same, positions=None) -> collections.Counter:
    """Write `data` with one byte flipped at each position (cycling through MASKS) and load it:
    count 'refused' (ModelFileError) and 'identical' (the flip hit bytes that carry no data, such as
    a ZIP timestamp, and `same` says the loaded object equals the original). Anything else - another
    exception, or a load that silently differs - fails the test."""
    out = collections.Counter()
    for i, pos in enumerate(range(len(data)) if positions is None else positions):
        b = bytearray(data)
        b[pos] ^= MASKS[i % len(MASKS)]
        target.write_bytes(bytes(b))
        try:
            loaded = load(target)
        except ModelFileError:
            out["refused"] += 1
            continue
        assert same(loaded), f"flipping byte {pos} gave a different object instead of an error"
        out["identical"] += 1
    return out


def _model(variant="custom_split", dtype="float64", **kw):
    base = dict(hidden_dim=6, window_size=3, n_layers=3, seed=0, dtype=dtype)
    if variant == "text_native":
        base.update(vocab_size=9, embed_dim=4)
    else:
        base.update(input_dim=3, output_dim=2)
    if variant == "custom_split":
        base.update(plastic_ratio=0.5)
    base.update(kw)
    return SSMN(variant, **base)


# ------------------------------------------------------------------------------ model files
@pytest.mark.slow
def test_every_byte_of_a_model_file_flipped_is_refused_or_harmless(tmp_path):
    m = _model()
    m.save(tmp_path / "m.ssmn")
    data = (tmp_path / "m.ssmn").read_bytes()
    params = m.get_parameters().tobytes()
    out = flip_sweep(data, tmp_path / "flipped.ssmn", SSMN.load,
                     lambda x: x.get_parameters().tobytes() == params and x.config == m.config)
    print(f"\nmodel file, {len(data)} bytes: {dict(out)}")
    assert out["refused"] + out["identical"] == len(data)
    assert out["refused"] >= 0.85 * len(data)


@pytest.mark.parametrize("variant,dtype,kw", [
    ("standard", "float32", {}), ("custom_split", "float64", {"rule": "oja"}),
    ("custom_split", "float32", {"rule": "delta", "rule_params": {"eps": 1e-3}, "clip": 0.5}),
    ("text_native", "float32", {"chat_steps": 2}), ("text_native", "float64", {"tied": True, "embed_dim": 6}),
])
def test_model_round_trips_are_bit_exact(tmp_path, variant, dtype, kw):
    m = _model(variant, dtype, **kw)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 9, (2, 7)) if variant == "text_native" else rng.standard_normal((2, 7, 3))
    m.forward_step(X[:, 0])  # a live state, which pickle keeps and model files do not
    m.save(tmp_path / "m.ssmn")
    for again in (SSMN.load(tmp_path / "m.ssmn"), pickle.loads(pickle.dumps(m))):
        assert again.config == m.config and again.dtype == m.dtype
        assert again.get_parameters().tobytes() == m.get_parameters().tobytes()
        assert again.forward(X).tobytes() == m.forward(X).tobytes()
    assert pickle.loads(pickle.dumps(m)).state == m.state
    assert SSMN.load(tmp_path / "m.ssmn").state is None
    assert [p.name for p in tmp_path.iterdir()] == ["m.ssmn"]  # no temporary file left behind


def _rewrite_model_metadata(src: Path, dst: Path, edit) -> None:
    """Copy a model file, changing its JSON metadata with `edit(meta)`."""
    with np.load(src) as z:
        params, meta = z["parameters"], json.loads(z["metadata"].tobytes())
    edit(meta)
    with open(dst, "wb") as f:  # a file object: np.savez would append ".npz" to a path
        np.savez(f, parameters=params, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8))


def _runtime_rule_plugin(name: str):
    def update(W, pre, post, eta, decay):
        return (1.0 - decay) * W + eta * post[:, :, None] * pre[:, None, :]

    mod = types.ModuleType(f"plugin_{name}")
    mod.ssmn_rl_register_rules = hookimpl(lambda: [PlasticityRule(name=name, update=update)])
    return mod


def test_a_model_needing_a_plugin_that_is_not_installed_names_it(tmp_path):
    ssmn_rl.register_plugin(_runtime_rule_plugin("filesafety_rule"), name="filesafety_plugin")
    try:
        m = _model(rule="filesafety_rule")
        m.save(tmp_path / "m.ssmn")
        assert SSMN.load(tmp_path / "m.ssmn").config.rule == "filesafety_rule"
    finally:
        ssmn_rl.unregister_plugin("filesafety_plugin")
    with pytest.raises(ModelFileError, match=r"needs the rule plugin 'filesafety_rule', which is not installed "
                                             r"here \(installed rules: \[.*'hebbian'.*\]\).*register_plugin"):
        SSMN.load(tmp_path / "m.ssmn")

    def from_a_package(meta):
        meta["config"]["rule"] = "bcm2"
        meta["plugins"]["rule"] = {"name": "bcm2", "distribution": "ssmn-rule-bcm2", "version": "3.1"}

    _rewrite_model_metadata(tmp_path / "m.ssmn", tmp_path / "pkg.ssmn", from_a_package)
    with pytest.raises(ModelFileError, match=r"rule plugin 'bcm2'.*HINT: install the plugin package "
                                             r"'ssmn-rule-bcm2' \(version 3.1\)"):
        SSMN.load(tmp_path / "pkg.ssmn")

    def old_file_unknown_variant(meta):  # files written before plugin info was stored
        meta["config"]["variant"] = "spiking"
        del meta["plugins"]

    _rewrite_model_metadata(tmp_path / "m.ssmn", tmp_path / "old.ssmn", old_file_unknown_variant)
    with pytest.raises(ModelFileError, match=r"variant plugin 'spiking', which is not installed.*"
                                             r"\['custom_split', 'standard', 'text_native'\]"):
        SSMN.load(tmp_path / "old.ssmn")


def test_stored_configuration_that_cannot_be_built_is_a_model_file_error(tmp_path):
    _model().save(tmp_path / "m.ssmn")
    for key, value in (("plasticity_eta", 10 ** 400), ("hidden_dim", 2 ** 40), ("window_size", "8"),
                       ("nonsense", 1)):
        _rewrite_model_metadata(tmp_path / "m.ssmn", tmp_path / "bad.ssmn",
                                lambda meta: meta["config"].__setitem__(key, value))
        with pytest.raises(ModelFileError, match="stored configuration is invalid"):
            SSMN.load(tmp_path / "bad.ssmn")


def _not_model_files(d: Path) -> dict:
    """Files that are not what any loader expects; the pickle would write 'pwned' if executed."""
    class Evil:
        def __reduce__(self):
            return (exec, (f"open({str(d / 'pwned')!r}, 'w').write('x')",))

    d.mkdir(exist_ok=True)
    files = {"empty": b"", "text": b"hello, world\n", "random": np.random.default_rng(0).bytes(4096),
             "pickle": pickle.dumps(Evil()), "json": b'{"format": "ssmn_rl.agent", "format_version": 1}'}
    out = {}
    for name, data in files.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    np.save(d / "array.npy", np.arange(3))
    np.savez(d / "other.npz", a=np.zeros(2))
    np.savez(d / "objects.npz", parameters=np.array([Evil()], dtype=object), __metadata__=np.zeros(2, np.uint8),
             metadata=np.zeros(2, np.uint8))
    (d / "folder").mkdir(exist_ok=True)
    out.update({"npy": d / "array.npy", "npz": d / "other.npz", "objects": d / "objects.npz",
                "folder": d / "folder", "missing": d / "missing"})
    return out


@pytest.mark.parametrize("loader", [SSMN.load, ES.load, PPO.load])
def test_non_model_files_are_refused_and_never_executed(tmp_path, loader):
    for name, path in _not_model_files(tmp_path / "junk").items():
        with pytest.raises(ModelFileError):
            loader(path)
    assert not (tmp_path / "junk" / "pwned").exists()


# ------------------------------------------------------------------------------ agent files
@pytest.fixture(scope="module")
def trained_es(tmp_path_factory):
    agent = ES("standard", ENV, seed=3, population_size=4, policy_kwargs={"hidden_dim": 4}).learn(300)
    path = tmp_path_factory.mktemp("agent") / "es.npz"
    agent.save(path, checkpoint=True)
    return agent, path


@pytest.mark.slow
def test_every_third_byte_of_an_agent_file_flipped_is_refused_or_harmless(trained_es, tmp_path):
    from ssmn_rl.agents.common.save_util import load_agent_file

    agent, path = trained_es
    data = path.read_bytes()
    meta, arrays = load_agent_file(path)

    def same_file(x):
        m2, a2 = x
        return m2 == meta and a2.keys() == arrays.keys() and all(
            a2[k].tobytes() == arrays[k].tobytes() and a2[k].dtype == arrays[k].dtype for k in arrays)

    out = flip_sweep(data, tmp_path / "f.npz", load_agent_file, same_file, positions=range(0, len(data), 3))
    theta = agent.policy.get_parameters().tobytes()
    full = flip_sweep(data, tmp_path / "g.npz", ES.load,
                      lambda a: a.policy.get_parameters().tobytes() == theta and a.num_timesteps == agent.num_timesteps,
                      positions=range(1, len(data), 41))
    print(f"\nagent file, {len(data)} bytes, every 3rd byte: {dict(out)}; through ES.load every 41st: {dict(full)}")
    assert out["refused"] >= 0.85 * sum(out.values()) and full["refused"] >= 0.85 * sum(full.values())


def test_agent_files_truncated_future_or_naming_a_missing_plugin(trained_es, tmp_path):
    from ssmn_rl.agents.common.save_util import load_agent_file, save_agent_file

    agent, path = trained_es
    data = path.read_bytes()
    for cut in np.linspace(0, len(data) - 1, 40).astype(int):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="not a readable ssmn_rl agent file|not an ssmn_rl agent file"):
            ES.load(tmp_path / "cut.npz")
    meta, arrays = load_agent_file(path)
    for k in ("format", "format_version", "library_version", "sha256"):
        meta.pop(k)
    future = dict(meta)
    save_agent_file(tmp_path / "ok.npz", meta, arrays)
    assert ES.load(tmp_path / "ok.npz").num_timesteps == agent.num_timesteps
    from ssmn_rl.agents.common import save_util
    old = save_util.FORMAT_VERSION
    save_util.FORMAT_VERSION = 99
    try:
        save_agent_file(tmp_path / "future.npz", future, arrays)
    finally:
        save_util.FORMAT_VERSION = old
    with pytest.raises(ModelFileError, match="agent format version 99"):
        ES.load(tmp_path / "future.npz")
    missing = json.loads(json.dumps(meta))
    missing["policy"]["policy_kwargs"]["rule"] = "bcm2"
    missing["plugins"]["rule"] = {"name": "bcm2", "distribution": "ssmn-rule-bcm2", "version": "3.1"}
    save_agent_file(tmp_path / "plugin.npz", missing, arrays)
    with pytest.raises(ModelFileError, match=r"needs the rule plugin 'bcm2'.*'ssmn-rule-bcm2'"):
        ES.load(tmp_path / "plugin.npz")
    broken = json.loads(json.dumps(meta))
    del broken["policy"]["observation_space"]
    save_agent_file(tmp_path / "broken.npz", broken, arrays)
    with pytest.raises(ModelFileError, match="stored agent description is invalid"):
        ES.load(tmp_path / "broken.npz")


@pytest.mark.parametrize("cls", [ES, PPO])
def test_agent_round_trip_is_bit_exact(tmp_path, cls):
    kw = dict(population_size=4) if cls is ES else dict(n_envs=2, n_steps=8, batch_size=16, n_epochs=1)
    agent = cls("standard", ENV, seed=2, **kw).learn(100)
    agent.save(tmp_path / "a.npz", checkpoint=True)
    again = cls.load(tmp_path / "a.npz")
    again.save(tmp_path / "b.npz", checkpoint=True)
    from ssmn_rl.agents.common.save_util import load_agent_file
    (m1, a1), (m2, a2) = load_agent_file(tmp_path / "a.npz"), load_agent_file(tmp_path / "b.npz")
    assert a1.keys() == a2.keys() and all(a1[k].tobytes() == a2[k].tobytes() for k in a1)
    assert {k: v for k, v in m1.items() if k != "sha256"} == {k: v for k, v in m2.items() if k != "sha256"}


def test_failed_agent_save_keeps_the_previous_file(trained_es, tmp_path, monkeypatch):
    agent, _ = trained_es
    agent.save(tmp_path / "a.npz")
    before = (tmp_path / "a.npz").read_bytes()

    def half_then_fail(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        agent.save(tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


# ------------------------------------------------------------------------------ language model
@pytest.fixture(scope="module")
def saved_lm(tmp_path_factory):
    lm = SSMNLanguageModel(embed_dim=4, hidden_dim=8, n_layers=2, max_epochs=1, batch_size=2, chunk_length=8,
                           validation_fraction=0.0, n_jobs=1, random_state=0).fit("the cat sat on the mat")
    d = tmp_path_factory.mktemp("lm") / "lm"
    lm.save(d)
    return lm, d


def _copy_dir(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_language_model_json_flipped_truncated_or_future_is_refused(saved_lm, tmp_path):
    lm, d = saved_lm
    work = _copy_dir(d, tmp_path / "lm")
    meta_path = work / "language_model.json"
    data = meta_path.read_bytes()
    ref = lm.generate("the", 12, seed=0)
    out = flip_sweep(data, meta_path, lambda p: SSMNLanguageModel.load(p.parent),
                     lambda x: x.generate("the", 12, seed=0) == ref and x.get_params() == lm.get_params(),
                     positions=range(0, len(data), 7))
    print(f"\nlanguage_model.json, {len(data)} bytes, every 7th byte: {dict(out)}")
    assert out["identical"] == 0  # every byte of the JSON carries data and is checksummed
    for cut in (0, 1, len(data) // 3, len(data) - 2):
        meta_path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            SSMNLanguageModel.load(work)
    meta = json.loads(data)
    meta["format_version"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="format version 99"):
        SSMNLanguageModel.load(work)


def test_language_model_save_interrupted_between_its_files_is_detected(saved_lm, tmp_path, monkeypatch):
    """save() writes model.ssmn, then language_model.json, each atomically. If the process dies
    between the two, the directory holds new weights and the old JSON: load must say so rather than
    pair them (same vocabulary size, different model)."""
    lm, d = saved_lm
    work = _copy_dir(d, tmp_path / "lm")
    lm2 = SSMNLanguageModel(**lm.get_params()).set_params(random_state=1).fit("the cat sat on the mat")
    from ssmn_rl.text import language_model as lm_module

    real = lm_module.atomic_write

    def die_before_json(path, write_fn):
        if Path(path).name == "language_model.json":
            raise KeyboardInterrupt("killed between the two files")
        return real(path, write_fn)

    monkeypatch.setattr(lm_module, "atomic_write", die_before_json)
    with pytest.raises(KeyboardInterrupt):
        lm2.save(work)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="is not the model that language_model.json was saved with"):
        SSMNLanguageModel.load(work)
    lm2.save(work)  # a complete save repairs it
    assert SSMNLanguageModel.load(work).generate("the", 8, seed=0) == lm2.generate("the", 8, seed=0)
    assert sorted(p.name for p in work.iterdir()) == ["language_model.json", "model.ssmn"]


def test_language_model_needing_a_missing_rule_plugin(saved_lm, tmp_path):
    _, d = saved_lm
    work = _copy_dir(d, tmp_path / "lm")
    _rewrite_model_metadata(work / "model.ssmn", work / "model.ssmn",
                            lambda meta: meta["config"].__setitem__("rule", "bcm2"))
    with pytest.raises(ModelFileError, match="needs the rule plugin 'bcm2'"):
        SSMNLanguageModel.load(work)


# ------------------------------------------------------------------------------ SIGKILL mid-checkpoint
CHILD = textwrap.dedent('''
    """Child of test_training_killed_mid_checkpoint_resumes_from_the_last_good_one: ES training with a
    checkpoint callback; on the checkpoint write number KILL_AT_SAVE, it writes half the archive,
    syncs it to disk and sends itself SIGKILL (the hook lives here, not in the package)."""
    import io, os, signal, sys
    import numpy as np
    from ssmn_rl.agents import ES, CheckpointCallback

    kill_at, out = int(os.environ["KILL_AT_SAVE"]), sys.argv[1]
    real_savez, calls = np.savez, [0]

    def savez_then_die(f, **arrays):
        calls[0] += 1
        if calls[0] == kill_at:
            buf = io.BytesIO()
            real_savez(buf, **arrays)
            f.write(buf.getvalue()[: buf.tell() // 2])
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return real_savez(f, **arrays)

    np.savez = savez_then_die
    agent = ES("standard", "{env}", seed=1, population_size=8)
    agent.learn({steps}, callback=CheckpointCallback(save_freq={freq}, save_path=out))
    print("finished without being killed")
''')


def test_training_killed_mid_checkpoint_resumes_from_the_last_good_one(tmp_path):
    steps, freq = 3000, 700
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(env=ENV, steps=steps, freq=freq))
    ckpt = tmp_path / "ckpt"
    proc = subprocess.run([sys.executable, str(script), str(ckpt)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "KILL_AT_SAVE": "3"})
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    done = sorted(ckpt.glob("checkpoint_*_steps.npz"), key=lambda p: int(p.name.split("_")[1]))
    partial = list(ckpt.glob(".checkpoint_*.tmp"))
    assert len(done) == 2 and len(partial) == 1, sorted(p.name for p in ckpt.iterdir())
    assert partial[0].stat().st_size > 0  # it died while writing, not before
    with pytest.raises(ModelFileError):
        ES.load(partial[0])  # the half-written archive is refused, never mistaken for a checkpoint
    last = ES.load(done[-1])
    assert last.num_timesteps == int(done[-1].name.split("_")[1])
    last.learn(last._total_timesteps - last.num_timesteps, reset_num_timesteps=False)
    uninterrupted = ES("standard", ENV, seed=1, population_size=8).learn(steps)
    assert last.num_timesteps == uninterrupted.num_timesteps
    np.testing.assert_array_equal(last.theta, uninterrupted.theta)
