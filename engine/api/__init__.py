"""The local API's boundary: the answers' shapes (``engine.api.schema``) and the client
(``engine.api.client``), the only parts of the engine the tray app imports.

Nothing is re-exported here on purpose: importing ``engine.api.schema`` must load no other
engine module (the client included), so import each module by its own name.
"""

__all__: list[str] = []
