"""``cropglobe presto``: fetch Presto's pretrained weights and embed a SampleSet (Tseng et al., arXiv:2304.14065)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

presto_app = typer.Typer(help="Presto foundation-model embeddings (Tseng et al., arXiv:2304.14065).",
                         no_args_is_help=True)


EMBEDDINGS = "cropglobe embeddings file (.npy of float32 (N, 128))"


def is_embeddings_file(path: Path) -> bool:
    """True for a previous ``presto embed`` output: a .npy file holding a float32 (N, 128) array (header only)."""
    import numpy as np

    if not path.is_file() or path.suffix.lower() != ".npy":
        return False
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in read:
                return False
            shape, fortran, dtype = read[version](f)  # the header is a literal (no pickle)
    except (OSError, ValueError):
        return False
    return dtype == np.dtype("<f4") and not fortran and len(shape) == 2 and shape[1] == 128


def register(app: typer.Typer) -> None:
    """Add the ``presto`` command group (``download``, ``embed``)."""
    app.add_typer(presto_app, name="presto")

    @presto_app.command("download")
    def download_cmd(
        dest: Annotated[
            Path | None,
            typer.Option(
                "--dest", "-d", help="Weights file or folder (default: ~/.cache/cropglobe/presto/default_model.pt)."
            ),
        ] = None,
        repo: Annotated[
            str, typer.Option(help="Hugging Face hub repository holding the weights.")
        ] = "nasaharvest/presto",
        filename: Annotated[str, typer.Option(help="File inside the repository.")] = "default_model.pt",
        revision: Annotated[str | None, typer.Option(help="Branch, tag or commit of the repository.")] = None,
        any_sha256: Annotated[
            bool, typer.Option("--any-sha256", help="Accept a file that is not the published default_model.pt.")
        ] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --dest even when it is not the "
                                                                    "published weights.")] = False,
    ) -> None:
        """Download Presto's default_model.pt (checked against its sha256); same as `cropglobe data download presto`."""
        from cropglobe.features.presto.download import PRESTO_SHA256, download_presto

        path = download_presto(dest, repo_id=repo, filename=filename, revision=revision,
                               sha256=None if any_sha256 else PRESTO_SHA256, overwrite=overwrite)
        typer.echo(f"downloaded Presto weights to {path}")

    @presto_app.command("embed")
    def embed_cmd(
        src: Annotated[Path, typer.Argument(help="Composite SampleSet (Zarr) from `cropglobe data composite`.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output .npy of (N, 128) float32 embeddings.")],
        weights: Annotated[
            str | None, typer.Option(help="Presto default_model.pt (default: $CROPGLOBE_PRESTO_WEIGHTS).")
        ] = None,
        batch_size: Annotated[int, typer.Option(help="Samples per forward pass.")] = 512,
        device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous "
                                                                    "embeddings file.")] = False,
    ) -> None:
        """Embed the season window of a composite SampleSet; prints the throughput."""
        import time

        import numpy as np

        from cropglobe import samples, verbosity
        from cropglobe.atomic import check_replaceable, guarded_path
        from cropglobe.features.presto.embed import PrestoOptions, presto_features
        from cropglobe.temporal import season

        check_replaceable(out, EMBEDDINGS, is_embeddings_file, overwrite)  # before any work
        ds = samples.load(src)
        win = season.season(ds) if ds.attrs.get("season_window") else ds
        t0 = time.perf_counter()
        emb = presto_features(win, PrestoOptions(weights=weights, batch_size=batch_size, cache=False,
                                                 progress=not verbosity.is_quiet(), device=device))
        dt = time.perf_counter() - t0
        with guarded_path(out, EMBEDDINGS, is_embeddings_file, overwrite) as tmp, open(tmp, "wb") as f:
            np.save(f, emb, allow_pickle=False)
        typer.echo(f"{emb.shape[0]} embeddings x {emb.shape[1]} in {dt:.1f} s ({emb.shape[0] / max(dt, 1e-9):.0f} "
                   f"samples/s) -> {out}")
