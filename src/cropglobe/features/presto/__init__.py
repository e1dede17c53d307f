"""Presto foundation-model embeddings (Tseng et al., arXiv:2304.14065) as a cropglobe feature family.

* :mod:`cropglobe.features.presto.encoder` - the encoder in plain PyTorch and safe weight loading;
* :mod:`cropglobe.features.presto.inputs` - monthly, normalised, masked Presto inputs from a SampleSet;
* :mod:`cropglobe.features.presto.embed` - the ``presto`` feature function (batched, cached, sha256-pinned);
* :mod:`cropglobe.features.presto.download` - fetching ``default_model.pt`` from the Hugging Face hub.

Torch is imported only when an encoder is built, so importing this package stays light.
"""

from __future__ import annotations

from cropglobe.features.presto.embed import presto_features, presto_uses, record_options, resolve_weights

__all__ = ["presto_features", "presto_uses", "record_options", "resolve_weights"]
