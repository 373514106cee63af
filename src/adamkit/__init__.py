"""adamkit: the Adam optimizer family, exact, fast and visible.

Layers, top to bottom (each imports only from the layers below it):

- ``adamkit.cli`` and the tools ``adamkit.lab``, ``adamkit.train``, ``adamkit.bench``;
- front ends ``adamkit.torch`` (torch.optim drop-ins) and ``adamkit.numpy`` (float64 reference);
- the math: ``adamkit.rules``, ``adamkit.schedules``, ``adamkit.clipping``.
"""

__version__ = "0.1.0"
