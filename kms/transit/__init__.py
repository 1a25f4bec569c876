"""Vault/OpenBao Transit, spoken by Egide: a codec over the one request pipeline (issue 17).

- `models`: the mounts (TransitMount): a mount other than `transit` is a key namespace;
- `namespaces`: which key space a request works in (the native one by default);
- `formats`: Transit's ciphertext, signature and HMAC formats (`vault:v<N>:`);
- `ops`: the Transit data-plane operations, declared as kms.dataplane.core.Operation and run
  through kms.dataplane.pipeline.execute (grants, scope, limits, counters, audit: the pipeline's);
- `mounts`, `keys`: the control-plane services behind sys/mounts and keys/...;
- `codec`: requests as Transit clients send them, answers and errors in Transit's shapes;
- `views`: the Django view and the fast lane's entry (kms.dataplane.wsgi routes to it).

docs/transit.md is the reference.
"""
