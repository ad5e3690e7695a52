"""Write the pretrained generators that ship with gan_tutor from the runs of `make run TIER=cpu`.

    python scripts/make_pretrained.py                          # from build/cpu/runs into gan_tutor/weights/
    python scripts/make_pretrained.py --runs DIR --out DIR

For each model of ``gan_tutor.pretrained.COURSE_MODELS``: the sampling generator of its notebook's run (EMA weights,
with the batch-norm statistics the model samples with), judged on 2,000 samples (sampling seed 1) by the course's
digit classifier, in float32 and in float16; stored in half precision when that changes neither the confident share
by more than 0.5 points nor the Fréchet distance by more than 2%, else in float32. Writes ``<model>.safetensors``
and the manifest ``pretrained.json`` (sha256, setting, training cost, machine, both judgements).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from dcgan_study import cpu_name, judge  # noqa: E402

from gan_tutor import __version__, classifier, data, pretrained  # noqa: E402
from gan_tutor.checkpoint import checkpoint_path, load_checkpoint  # noqa: E402
from gan_tutor.models import get_model  # noqa: E402


def half_of(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=ROOT / "build" / "cpu" / "runs")
    p.add_argument("--out", type=Path, default=pretrained.WEIGHTS_DIR)
    p.add_argument("--machine", default=None, help="the machine that trained the runs (default: this one)")
    args = p.parse_args(argv)
    from safetensors.torch import save_file

    torch.set_num_threads(2)
    clf = classifier.load_digit_classifier()
    with torch.no_grad():
        held_feats = clf.features(data.load_dataset("mnist-5k", "test").images)
    args.out.mkdir(parents=True, exist_ok=True)
    models = {}
    for model in pretrained.COURSE_MODELS:
        run_dir = pretrained.run_folder(model, args.runs)
        spec = get_model(model)
        state = load_checkpoint(checkpoint_path(run_dir), model)
        G, cfg = spec.load_generator(run_dir)
        full = {k: v.detach().cpu().clone().contiguous() for k, v in G.state_dict().items()}
        judged = {"float32": judge(G, spec, cfg, clf, held_feats)}
        G16 = pretrained.from_tensors(model, cfg, half_of(full)).eval()
        judged["float16"] = judge(G16, spec, cfg, clf, held_feats)
        a, b = judged["float32"], judged["float16"]
        half = abs(a["confident"] - b["confident"]) <= 0.005 and abs(a["frechet"] - b["frechet"]) <= 0.02 * a["frechet"]
        dtype = "float16" if half else "float32"
        file = f"{model}.safetensors"
        save_file(half_of(full) if half else full, str(args.out / file), metadata={"model": model, "version": __version__})
        models[model] = {
            "file": file, "sha256": pretrained.sha256_of(args.out / file), "dtype": dtype,
            "notebook": pretrained.COURSE_MODELS[model][1], "tier": "cpu", "seed": cfg.seed,
            "data": state["config"].get("data", "mnist-5k"), "version": __version__,
            "steps": int(state["state"]["step"]), "seconds": round(float(state["state"]["seconds"]), 1),
            "machine": args.machine or f"{cpu_name()}, {torch.get_num_threads()} threads",
            "config": state["config"], "judged": judged,
        }
        print(f"{model:9} {dtype}  {(args.out / file).stat().st_size / 1e6:5.2f} MB  confident "
              f"{100 * a['confident']:.1f}% / {100 * b['confident']:.1f}%  FD {a['frechet']:.2f} / {b['frechet']:.2f}", flush=True)
    manifest = {"written": datetime.date.today().isoformat(), "torch": torch.__version__, "python": platform.python_version(),
                "judge": "2,000 samples (sampling seed 1), the course's digit classifier; FD to the 1,000 held-out digits",
                "models": models}
    (args.out / pretrained.MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum((args.out / m["file"]).stat().st_size for m in models.values())
    print(f"wrote {len(models)} generators, {total / 1e6:.1f} MB, and {args.out / pretrained.MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
