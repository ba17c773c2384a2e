"""The local API's boundary: the answers' shapes (``schema``) and the client (``client``)."""
