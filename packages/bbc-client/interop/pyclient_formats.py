#!/usr/bin/env python3
"""MANUAL interop check (not in CI): the ORIGINAL BBc-1 v1.1.1 Python client against a node.

Driven by interop/pyclient-formats.test.ts against OUR TypeScript node; it can also be pointed at
any running node by hand:

    BBC1_PYREF=/work/pyref PYTHONPATH=$BBC1_PYREF/shim:$BBC1_PYREF/vendor \\
      /usr/bin/python3 pyclient_formats.py --port 9000 [--workingdir .bbc1] [--formats 0,1,3,4,6]

BBC1_PYREF is a directory holding the original `bbc1` package (v1.1.1, with libbbcsig.so) in
one of: $BBC1_PYREF/vendor, $BBC1_PYREF/bbc1, $BBC1_PYREF. If $BBC1_PYREF/shim/sitecustomize.py
exists and was not loaded yet (PYTHONPATH unset) it is run first (msgpack-0.5 defaults etc.,
see /work/pyref/README-local.md).

Only the original bbc_app.BBcAppClient (A and B with multiq=False and the default Callback, C
with the default multiq=True) and bbclib are used. With --workingdir, the node key is loaded from
<workingdir>/node_key.pem when the file exists, as the original utils (bbc_info.py, testutils.py)
do; admin calls are then signed.

Steps (one PASS/FAIL line each, a SUMMARY line at the end; exit status 1 on any FAIL):
  domain_setup, register users A, B, C, B subscribes to insert notifications; for each format:
  tx1 = event + asset with an asset file (mandatory approver A) [+ a relation pointing to the
  previous format's tx2], witnesses A and B: A signs and gathers B's signature (B answers with
  sendback_signature); tx2 (B) = event + asset, a reference to tx1 whose approver A signs when B
  gathers with reference_obj, a relation with an asset and a pointer to tx1's asset; insert
  both; B's NOTIFY_INSERTED for both; search each by id (and tx2 by C) and check id, signatures,
  bytes and asset files with the original bbclib; search by asset_group_id (and + user); count;
  traverse backwards and forwards; A -> B message. At the end: count by user over all formats.
--dump-shapes FILE writes the key/type shape of every answer received, to compare two nodes.
"""
import os
import sys

REF = os.environ.get("BBC1_PYREF")
if REF:
    for sub in ("bbc1", "vendor"):  # inserted in reverse priority
        p = os.path.join(REF, sub)
        if os.path.isdir(os.path.join(p, "bbc1")) and p not in sys.path:
            sys.path.insert(0, p)
    if os.path.isdir(os.path.join(REF, "bbc1", "core")) and REF not in sys.path:
        sys.path.append(REF)
    shim = os.path.join(REF, "shim", "sitecustomize.py")
    import collections
    if os.path.exists(shim) and not hasattr(collections, "Mapping"):
        import runpy
        runpy.run_path(shim)

from gevent import monkey  # noqa: E402  (bbc_app patches too; do it before anything else)
monkey.patch_all()

import argparse  # noqa: E402
import binascii  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

from bbc1.core import bbc_app, bbclib  # noqa: E402
from bbc1.core.bbclib import BBcFormat, MsgType  # noqa: E402
from bbc1.core.message_key_types import KeyType  # noqa: E402

FORMAT_NAMES = {0: "binary", 1: "bson", 2: "bson+bz2", 3: "bson+zlib", 4: "msgpack", 5: "msgpack+bz2",
                6: "msgpack+zlib"}
# v1.1.1's sendback_signature labels only BSON / BSON+bz2 signatures correctly; for the others it
# sends signature.serialize() (a dict for 3/4/6) with transaction_data_format 0, which the
# requester's Callback cannot read (Quirk C17 in @bbc1/client's README).
SENDBACK_OK = (BBcFormat.FORMAT_BINARY, BBcFormat.FORMAT_BSON, BBcFormat.FORMAT_BSON_COMPRESS_BZ2)

results = []
shapes = {}  # --dump-shapes: command -> distinct 'key:type ...' lists of the answers seen


def record_shape(m):
    if not isinstance(m, dict):
        return
    cmd = m.get(KeyType.command)
    name = next((k for k, v in vars(MsgType).items() if v == cmd), repr(cmd))
    if KeyType.result in m and cmd is None:
        name = "gather result (after Callback)"
    keyname = lambda k: next((n for n, v in vars(KeyType).items() if v == k), binascii.b2a_hex(k).decode())
    shapes.setdefault(name, set()).add(" ".join(sorted("%s:%s" % (keyname(k), type(v).__name__) for k, v in m.items())))


def hexs(b):
    return binascii.b2a_hex(b).decode()[:16]


def report(ok, name, detail=""):
    results.append((bool(ok), name))
    if ok and len(detail) > 100:
        detail = ""
    elif len(detail) > 600:
        detail = detail[:600] + "..."
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (" -- " + detail) if detail else ""), flush=True)
    return bool(ok)


class Waiter:
    """Takes messages from a client's common queue (multiq=False), keeping those not asked for."""

    def __init__(self, client):
        self.client = client
        self.stash = []

    def wait(self, pred, timeout=10.0):
        for i, m in enumerate(self.stash):
            if pred(m):
                return self.stash.pop(i)
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            m = self.client.callback.synchronize(timeout=left)
            if m is None:
                return None
            record_shape(m)
            if pred(m):
                return m
            self.stash.append(m)

    def cmd(self, command, timeout=10.0, txid=None):
        return self.wait(lambda m: isinstance(m, dict) and m.get(KeyType.command) == command and
                         (txid is None or m.get(KeyType.transaction_id) == txid), timeout)


def sigs_valid(txobj):
    ok, _, _ = bbclib.validate_transaction_object(txobj)
    return bool(ok) and all(s.keypair is not None for s in txobj.signatures)


def check_tx_data(name, data, expected_tx):
    """Deserialize with the original bbclib; check format, id, signatures and asset bodies."""
    try:
        got = bbclib.BBcTransaction(deserialize=data)
    except Exception as e:  # noqa: BLE001
        return report(False, name, "deserialize raised %r" % e)
    if got.transaction_id is None:
        got.digest()
    problems = []
    if got.format_type != expected_tx.format_type:
        problems.append("format %s != %s" % (got.format_type, expected_tx.format_type))
    if got.transaction_id != expected_tx.transaction_id:
        problems.append("id %s != %s" % (hexs(got.transaction_id), hexs(expected_tx.transaction_id)))
    if got.digest()[:len(expected_tx.transaction_id)] != expected_tx.transaction_id:
        problems.append("recomputed id differs")
    if not sigs_valid(got):
        problems.append("signature does not verify")
    if len(got.signatures) != len(expected_tx.signatures):
        problems.append("%d signatures, expected %d" % (len(got.signatures), len(expected_tx.signatures)))
    bodies = lambda t: [e.asset.asset_body for e in t.events] + [r.asset.asset_body for r in t.relations if r.asset]
    if bodies(got) != bodies(expected_tx):
        problems.append("asset bodies %r != %r" % (bodies(got), bodies(expected_tx)))
    if data != expected_tx.serialize():
        problems.append("bytes differ from what was inserted")
    return report(not problems, name, "; ".join(problems))


def tree_ids(dat):
    ids = []
    for level in dat.get(KeyType.transaction_tree, []):
        for txdat in level:
            t = bbclib.BBcTransaction(deserialize=txdat)
            ids.append(t.transaction_id)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workingdir", default=None, help="node working dir (node_key.pem is read from it)")
    ap.add_argument("--formats", default="0,1,3,4,6")
    ap.add_argument("--label", default="")
    ap.add_argument("--dump-shapes", default=None, help="write the key/type shape of every answer (JSON)")
    args = ap.parse_args()
    formats = [int(f) for f in args.formats.split(",")]
    tag = ("[%s] " % args.label) if args.label else ""

    run = "%s-%d" % (time.time(), os.getpid())
    domain_id = bbclib.get_new_id("pyclient formats domain " + run)
    user_a = bbclib.get_new_id("user A " + run)
    user_b = bbclib.get_new_id("user B " + run)
    key_a = bbclib.KeyPair()
    key_a.generate()
    key_b = bbclib.KeyPair()
    key_b.generate()

    a = bbc_app.BBcAppClient(host=args.host, port=args.port, multiq=False)
    b = bbc_app.BBcAppClient(host=args.host, port=args.port, multiq=False)
    c = bbc_app.BBcAppClient(host=args.host, port=args.port)  # default multiq=True: waits by query_id
    user_c = bbclib.get_new_id("user C " + run)
    wa, wb = Waiter(a), Waiter(b)

    nodekey = os.path.join(args.workingdir, "node_key.pem") if args.workingdir else None
    if nodekey and os.path.exists(nodekey):
        a.set_node_key(nodekey)
        report(a.node_keypair is not None and a.node_keypair.private_key_len.value > 0,
               tag + "load node key " + nodekey)
    else:
        print("(no node key: admin fields go unsigned)", flush=True)

    # -- domain setup (admin) and registration
    a.domain_setup(domain_id)
    dat = wa.cmd(MsgType.RESPONSE_SETUP_DOMAIN)
    if not report(dat is not None and dat.get(KeyType.result) is True, tag + "domain_setup",
                  "answer %r" % (dat,)):
        return finish()
    for cl, u in ((a, user_a), (b, user_b), (c, user_c)):
        cl.set_domain_id(domain_id)
        cl.set_user_id(u)
        report(cl.register_to_core(), tag + "register_to_core %s" % hexs(u))
    # the node knows both users once it answers a request sent after the REGISTERs
    for _ in range(100):
        a.get_user_list()  # the original Callback queues the parsed list, not the message
        users = wa.wait(lambda m: isinstance(m, list), timeout=5) or []
        if user_a in users and user_b in users and user_c in users:
            break
        time.sleep(0.05)
    report(user_a in users and user_b in users and user_c in users, tag + "get_user_list shows the three users",
           "%d users" % len(users))

    previous = None  # tx2 of the previous format: tx1 of the next one refers to it via a relation pointer
    for fmt in formats:
        name = "%sformat %d (%s)" % (tag, fmt, FORMAT_NAMES.get(fmt, "?"))
        group = bbclib.get_new_id("asset group %d %s" % (fmt, run))
        b.request_insert_completion_notification(group)

        # -- tx1: event + asset, A is mandatory approver; witnesses A and B; B's signature gathered
        tx1 = bbclib.make_transaction(event_num=1, relation_num=1 if previous else 0, witness=True,
                                      format_type=fmt)
        tx1.events[0].add(mandatory_approver=user_a)
        asset_file = b"asset file of tx1, format %d\x00\xff" % fmt
        bbclib.add_event_asset(tx1, event_idx=0, asset_group_id=group, user_id=user_a,
                               asset_body=b"tx1 format %d" % fmt, asset_file=asset_file)
        if previous:  # relation pointing to the previous format's tx2 (another format)
            bbclib.add_relation_asset(tx1, relation_idx=0, asset_group_id=group, user_id=user_a,
                                      asset_body=b"tx1 relation format %d" % fmt)
            bbclib.add_relation_pointer(tx1, relation_idx=0, ref_transaction_id=previous.transaction_id,
                                        ref_asset_id=previous.events[0].asset.asset_id)
        tx1.witness.add_witness(user_a)
        tx1.witness.add_witness(user_b)
        tx1.add_signature(user_id=user_a, signature=tx1.sign(keypair=key_a))

        def gather_and_add(label, requester, req_w, signer, signer_w, signer_id, signer_key, tx, reference=None):
            """requester gathers signer's signature (v1.1.1 flow); returns True once it is in tx."""
            workarounds = (False,) if fmt in SENDBACK_OK else (False, True)
            for binary_workaround in workarounds:
                if reference is not None:
                    requester.gather_signatures(tx, reference_obj=reference)
                else:
                    requester.gather_signatures(tx, destinations=[signer_id])
                req = signer_w.cmd(MsgType.REQUEST_SIGNATURE)
                why = ""
                if req is None:
                    why = "no REQUEST_SIGNATURE at the signer"
                elif req.get(KeyType.source_user_id) != requester.user_id:
                    why = "REQUEST_SIGNATURE from %r" % req.get(KeyType.source_user_id)
                else:
                    t = bbclib.BBcTransaction(deserialize=req[KeyType.transaction_data])
                    if t.transaction_id != tx.transaction_id or t.format_type != fmt:
                        why = "REQUEST_SIGNATURE carries another transaction"
                    ref_index = -1
                    if reference is not None:
                        # the referred transaction travels along as {transaction_id: data}
                        referred = req.get(KeyType.transactions) or {}
                        if list(referred.keys()) != [reference.transaction_id] or \
                                bbclib.BBcTransaction(deserialize=referred[reference.transaction_id]).transaction_id \
                                != reference.transaction_id:
                            why = "referred transactions %r" % (list(referred.keys()),)
                        ref_index = 0
                if why:
                    report(False, name + ": " + label, why)
                    return False
                sig = t.sign(keypair=signer_key)
                if binary_workaround:
                    sig.format_type = BBcFormat.FORMAT_BINARY
                signer.sendback_signature(req[KeyType.source_user_id], t.transaction_id, ref_index, sig,
                                          req.get(KeyType.query_id))
                res = req_w.wait(lambda m: isinstance(m, dict) and (
                    KeyType.result in m or m.get(KeyType.command) == MsgType.RESPONSE_GATHER_SIGNATURE))
                if res is None or res.get(KeyType.status) != 0 or KeyType.result not in res:
                    report(False, name + ": " + label, "answer %r" % (res,))
                    return False
                got_index, signer_got, sig_got = res[KeyType.result]
                if fmt in SENDBACK_OK or binary_workaround:
                    ok = got_index == ref_index and signer_got == signer_id and sig_got.verify(tx.digest())
                    report(ok, name + ": " + label + (" (signer sends the binary form)" if binary_workaround else ""),
                           "ref_index %r signer %s" % (got_index, hexs(signer_got)))
                else:
                    # v1.1.1 as is: the signature travels as the dict it sent, labelled format 0; the
                    # original Callback cannot read it (an empty signature), exactly as with bbc_core.py
                    ok = got_index == ref_index and signer_got == signer_id and sig_got.keypair is None
                    report(ok, name + ": " + label + " with v1.1.1 sendback: arrives as sent (dict labelled "
                           "binary), unreadable as with bbc_core.py (Quirk C17)")
                    if not ok:
                        return False
            if not ok:
                return False
            if reference is not None:
                reference.add_signature(user_id=signer_id, signature=sig_got)  # sets the tx's format
            else:
                sig_got.format_type = fmt
                tx.add_signature(user_id=signer_id, signature=sig_got)
            return True

        if not gather_and_add("gather_signatures(destinations=[B]) / sendback_signature by B",
                              a, wa, b, wb, user_b, key_b, tx1):
            previous = None
            continue
        report(sigs_valid(tx1), name + ": tx1 carries A's and B's valid signatures")

        # -- tx2 (built by B): event + asset, reference to tx1 whose approver A signs (gathered by
        #    reference), relation with an asset and a pointer to tx1's asset
        tx2 = bbclib.make_transaction(event_num=1, relation_num=1, witness=True, format_type=fmt)
        bbclib.add_event_asset(tx2, event_idx=0, asset_group_id=group, user_id=user_b,
                               asset_body=b"tx2 format %d" % fmt)
        bbclib.add_relation_asset(tx2, relation_idx=0, asset_group_id=group, user_id=user_b,
                                  asset_body=b"tx2 relation format %d" % fmt)
        bbclib.add_relation_pointer(tx2, relation_idx=0, ref_transaction_id=tx1.transaction_id,
                                    ref_asset_id=tx1.events[0].asset.asset_id)
        tx2.witness.add_witness(user_b)
        ref = bbclib.add_reference_to_transaction(tx2, group, tx1, 0)
        tx2.add_signature(user_id=user_b, signature=tx2.sign(keypair=key_b))
        if not gather_and_add("gather_signatures(reference_obj) for tx2 / sendback_signature by A",
                              b, wb, a, wa, user_a, key_a, tx2, reference=ref):
            previous = None
            continue
        report(sigs_valid(tx2) and len(tx2.signatures) == 2, name + ": tx2 (reference + relation pointer) signed")

        # -- insert both (A inserts tx1, B inserts tx2); B was subscribed to the asset group
        for cl, w, t, label in ((a, wa, tx1, "tx1"), (b, wb, tx2, "tx2")):
            cl.insert_transaction(t)
            dat = w.cmd(MsgType.RESPONSE_INSERT)
            report(dat is not None and dat.get(KeyType.transaction_id) == t.transaction_id,
                   name + ": insert_transaction %s %s" % (label, hexs(t.transaction_id)),
                   "answer %r" % ({k: v for k, v in dat.items()} if dat else None,) if not (
                       dat and dat.get(KeyType.transaction_id) == t.transaction_id) else "")
        for t, label in ((tx1, "tx1"), (tx2, "tx2")):
            n = wb.cmd(MsgType.NOTIFY_INSERTED, txid=t.transaction_id)
            report(n is not None and group in n.get(KeyType.asset_group_ids, []),
                   name + ": NOTIFY_INSERTED of %s at B" % label, "got %r" % (n,) if n is None else "")

        # -- search by id (by the other client too) and check with the original bbclib
        for cl, w, t, label in ((b, wb, tx1, "tx1"), (a, wa, tx2, "tx2")):
            cl.search_transaction(t.transaction_id)
            dat = w.cmd(MsgType.RESPONSE_SEARCH_TRANSACTION)
            if report(dat is not None and dat.get(KeyType.status) == 0 and KeyType.transaction_data in dat,
                      name + ": search_transaction %s" % label, "answer %r" % (dat,)):
                check_tx_data(name + ": %s from search: id, signatures, bytes" % label,
                              dat[KeyType.transaction_data], t)
                files = dat.get(KeyType.all_asset_files) or {}
                want = {tx1.events[0].asset.asset_id: asset_file} if t is tx1 else {}
                report(files == want, name + ": %s from search: asset files" % label, "got %r" % (files,))
                if t is tx1:
                    ok, valid, invalid = bbclib.validate_transaction_object(
                        bbclib.BBcTransaction(deserialize=dat[KeyType.transaction_data]), files)
                    report(ok and len(valid) == 1 and not invalid, name + ": tx1 asset file digest validates")

        # -- the same search by a client with the default multiq=True (answers by query_id)
        qid = c.search_transaction(tx2.transaction_id)
        dat = c.callback.sync_by_queryid(qid, timeout=10)
        record_shape(dat)
        if report(dat is not None and dat.get(KeyType.status) == 0 and KeyType.transaction_data in dat,
                  name + ": multiq client C: search_transaction tx2 via sync_by_queryid", "answer %r" % (dat,)):
            check_tx_data(name + ": multiq client C: tx2", dat[KeyType.transaction_data], tx2)
        qid = c.count_transactions(asset_group_id=group)
        dat = c.callback.sync_by_queryid(qid, timeout=10)
        report(dat is not None and dat.get(KeyType.count) == 2, name + ": multiq client C: count_transactions == 2",
               "answer %r" % (dat,))

        # -- search with condition by asset_group_id: both, newest first
        a.search_transaction_with_condition(asset_group_id=group, count=10)
        dat = wa.cmd(MsgType.RESPONSE_SEARCH_WITH_CONDITIONS)
        txs = dat.get(KeyType.transactions, []) if dat else []
        ids = [bbclib.BBcTransaction(deserialize=d).transaction_id for d in txs]
        report(dat is not None and dat.get(KeyType.status) == 0 and sorted(ids) == sorted([tx1.transaction_id, tx2.transaction_id]),
               name + ": search_transaction_with_condition(asset_group_id) -> 2",
               "status %r, %d transactions" % (dat and dat.get(KeyType.status), len(ids)))
        for d in txs:
            t = tx1 if bbclib.BBcTransaction(deserialize=d).transaction_id == tx1.transaction_id else tx2
            check_tx_data(name + ": condition result %s" % ("tx1" if t is tx1 else "tx2"), d, t)
        a.search_transaction_with_condition(asset_group_id=group, user_id=user_b, count=10)
        dat = wa.cmd(MsgType.RESPONSE_SEARCH_WITH_CONDITIONS)
        ids = [bbclib.BBcTransaction(deserialize=d).transaction_id for d in (dat or {}).get(KeyType.transactions, [])]
        report(ids == [tx2.transaction_id], name + ": search_transaction_with_condition(group, user B) -> tx2",
               "%d transactions" % len(ids))

        # -- count
        a.count_transactions(asset_group_id=group)
        dat = wa.cmd(MsgType.RESPONSE_COUNT_TRANSACTIONS)
        report(dat is not None and dat.get(KeyType.count) == 2, name + ": count_transactions(asset_group_id) == 2",
               "answer %r" % (dat and dat.get(KeyType.count),))
        b.count_transactions(asset_group_id=group, user_id=user_a)
        dat = wb.cmd(MsgType.RESPONSE_COUNT_TRANSACTIONS)
        report(dat is not None and dat.get(KeyType.count) == 1, name + ": count_transactions(group, user A) == 1",
               "answer %r" % (dat and dat.get(KeyType.count),))

        # -- traverse: backwards from tx2 reaches tx1 (and the previous format's tx2); forwards from tx1 reaches tx2
        a.traverse_transactions(tx2.transaction_id, direction=1, hop_count=3)
        dat = wa.cmd(MsgType.RESPONSE_TRAVERSE_TRANSACTIONS)
        ids = tree_ids(dat) if dat else []
        want = [tx2.transaction_id, tx1.transaction_id] + ([previous.transaction_id] if previous else [])
        report(dat is not None and dat.get(KeyType.status) == 0 and ids[:len(want)] == want,
               name + ": traverse_transactions backward from tx2 (%d levels)" % len(want),
               "got %s" % [hexs(i) for i in ids])
        a.traverse_transactions(tx1.transaction_id, direction=0, hop_count=2)
        dat = wa.cmd(MsgType.RESPONSE_TRAVERSE_TRANSACTIONS)
        ids = tree_ids(dat) if dat else []
        report(dat is not None and dat.get(KeyType.status) == 0 and ids == [tx1.transaction_id, tx2.transaction_id],
               name + ": traverse_transactions forward from tx1", "got %s" % [hexs(i) for i in ids])

        # -- message A -> B
        body = {"format": fmt, "text": "hello from A", "raw": b"\x00\x01" + tx2.transaction_id}
        a.send_message(body, user_b)
        m = wb.cmd(MsgType.MESSAGE)
        got = m.get(KeyType.message) if m else None
        want_msg = {b"format": fmt, b"text": b"hello from A", b"raw": b"\x00\x01" + tx2.transaction_id}
        report(got == want_msg and m.get(KeyType.source_user_id) == user_a, name + ": send_message A -> B",
               "got %r" % (got,))
        b.cancel_insert_completion_notification(group)
        previous = tx2

    # -- totals over the domain (both users)
    a.count_transactions(user_id=user_a)
    dat = wa.cmd(MsgType.RESPONSE_COUNT_TRANSACTIONS)
    report(dat is not None and dat.get(KeyType.count) == len(formats),  # tx1 of each format
           tag + "count_transactions(user A) over all formats",
           "answer %r" % (dat and dat.get(KeyType.count),))
    leftovers = [m for m in wa.stash + wb.stash]
    report(not leftovers, tag + "no unexpected messages", "%r" % leftovers[:3])
    for cl in (a, b, c):
        cl.unregister_from_core()
    if args.dump_shapes:
        import json
        with open(args.dump_shapes, "w") as f:
            json.dump({k: sorted(v) for k, v in shapes.items()}, f, indent=1, sort_keys=True)
    return finish()


def finish():
    failed = [n for ok, n in results if not ok]
    print("SUMMARY passed=%d failed=%d" % (len(results) - len(failed), len(failed)), flush=True)
    for n in failed:
        print("  failed: " + n, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
