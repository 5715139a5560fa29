"""Benchmark helper: a full export of one collection over TAXII 2.1 with taxii2-client 2.3.0, timed.

    python scripts/bench_export.py export URL COLLECTION_URL [--user U --password P] [--limit 1000]
        prints {"objects": n, "pages": p, "seconds": s}
    python scripts/bench_export.py medallion-data COLLECTION_URL OUT.json CONFIG.json PORT
        exports the collection (objects and manifest) from taxii-edge and writes a medallion 3.0.0 memory-backend
        data file and config holding exactly the same objects (max_page_size 1000), to serve them side by side.
"""

import json
import sys
import time

from taxii2client.v21 import Collection, as_pages


def export(collection_url, user=None, password=None, limit=1000):
    col = Collection(collection_url, user=user, password=password)
    objects = 0
    pages = 0
    started = time.perf_counter()
    for envelope in as_pages(col.get_objects, per_request=limit):
        objects += len(envelope.get("objects", []))
        pages += 1
    return {"objects": objects, "pages": pages, "seconds": time.perf_counter() - started}


def all_pages(fn, limit=1000):
    out = []
    for envelope in as_pages(fn, per_request=limit):
        out.extend(envelope.get("objects", []))
    return out


def medallion_data(collection_url, out_path, config_path, port):
    col = Collection(collection_url)
    objects = all_pages(col.get_objects)
    manifest = all_pages(col.get_manifest)
    by_id = {m["id"]: m for m in manifest}
    for o in objects:
        # Medallion orders and filters by the manifest; objects without created/modified (SCOs) carry their
        # version in the hidden `_date_added` field.
        if "modified" not in o and "created" not in o:
            o["_date_added"] = by_id[o["id"]]["version"]
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {
            "title": "medallion (benchmark)",
            "description": "the same objects as taxii-edge serves",
            "default": f"{base}/api1/",
            "api_roots": [f"{base}/api1/"],
        },
        "api1": {
            "information": {
                "title": "api1",
                "description": "benchmark",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 1000000000,
            },
            "status": [],
            "collections": [
                {
                    "id": col.id,
                    "title": "benchmark",
                    "description": "benchmark",
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": out_path},
        "users": {"bench": "bench"},
        "taxii": {"max_page_size": 1000},
    }
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f)
    print(json.dumps({"objects": len(objects), "manifest": len(manifest), "collection": col.id}))


def main(argv):
    if len(argv) >= 2 and argv[0] == "export":
        args = argv[1:]
        url = args[0]
        user = args[args.index("--user") + 1] if "--user" in args else None
        password = args[args.index("--password") + 1] if "--password" in args else None
        limit = int(args[args.index("--limit") + 1]) if "--limit" in args else 1000
        print(json.dumps(export(url, user, password, limit)))
    elif len(argv) == 5 and argv[0] == "medallion-data":
        medallion_data(argv[1], argv[2], argv[3], int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
