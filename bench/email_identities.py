"""E-mail identities sealed with a blind index (docs/privacy.md): what the index costs.

Times (1) computing the lookup values ingest uses for a batch of sender addresses under a two-key
ring (after a rotation: every key's index), and (2) the ``tilsvar keys reencrypt`` identity pass
that rewrites N e-mail identities' indexes and addresses under a new primary key. Prints one JSON
object."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, temporary_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--identities", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with temporary_database(args.backend) as (_data_dir, _url):
        from sqlalchemy import insert

        from tilsvar.crypto import append_key, keyring
        from tilsvar.db import get_database, insert_returning_ids
        from tilsvar.models import Contact, Identity, Organization
        from tilsvar.models.base import table_of, utcnow
        from tilsvar.privacy import blind
        from tilsvar.privacy.keys import reencrypt
        from tilsvar.settings import get_settings

        database = get_database()
        addresses = [f"customer{n}@example{n % 97}.org" for n in range(args.identities)]
        with database.session() as session:
            org = insert_returning_ids(
                session, table_of(Organization), [{"slug": "bench", "name": "Bench", "created_at": utcnow()}]
            )[0]
            contacts = insert_returning_ids(
                session,
                table_of(Contact),
                [{"organization_id": org, "display_name": "", "created_at": utcnow()} for _ in addresses],
            )
            ring = keyring()
            started = time.perf_counter()
            rows = [
                {
                    "organization_id": org,
                    "contact_id": contact,
                    "platform": "email",
                    "name": "",
                    "created_at": utcnow(),
                    **blind.identity_columns("email", address, address, ring),
                }
                for contact, address in zip(contacts, addresses, strict=True)
            ]
            indexing = time.perf_counter() - started
            session.execute(insert(table_of(Identity)), rows)
        append_key(get_settings().effective_secret_key_file)
        ring = keyring()
        started = time.perf_counter()
        for start in range(0, len(addresses), 100):
            blind.lookup_ids("email", addresses[start : start + 100], ring)
        lookups = time.perf_counter() - started
        log(f"{len(addresses)} e-mail identities; re-encrypting under a new key")
        started = time.perf_counter()
        rewritten = reencrypt(database)
        elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "email_identities",
                "backend": args.backend,
                "identities": args.identities,
                "blind_index_us_per_identity": round(indexing / len(addresses) * 1e6, 1),
                "lookup_values_us_per_address_two_keys": round(lookups / len(addresses) * 1e6, 1),
                "reencrypt_identities_rewritten": rewritten["identity blind indexes"],
                "reencrypt_seconds": round(elapsed, 2),
                "identities_per_second": round(rewritten["identity blind indexes"] / elapsed),
            }
        )
    )


if __name__ == "__main__":
    main()
