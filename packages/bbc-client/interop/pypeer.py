#!/usr/bin/env python3
"""An ORIGINAL bbc_app.BBcAppClient peer for interop/peer.test.ts (manual interop only).

    python3 pypeer.py PORT DOMAIN_HEX MY_USER_HEX TS_USER_HEX ASSET_GROUP_HEX

1. registers MY_USER, prints "ready";
2. waits for a REQUEST_SIGNATURE, signs it (witness, ref_index -1) and answers like the file_proof
   example does: sendback_signature WITHOUT echoing the query_id;
3. builds its own transaction and gathers TS_USER's signature with gather_signatures(); prints
   "gathered <status> <signature verifies>";
4. waits for a MESSAGE and prints "message <hex of body>".
"""
from gevent import monkey
monkey.patch_all()

import sys
import warnings

warnings.filterwarnings("ignore")
from bbc1.core import bbc_app, bbclib
from bbc1.core.bbclib import MsgType
from bbc1.core.message_key_types import KeyType


def out(*a):
    print(*a, flush=True)


port = int(sys.argv[1])
domain, me, ts_user, group = (bytes.fromhex(a) for a in sys.argv[2:6])
c = bbc_app.BBcAppClient(port=port, multiq=False)
c.set_domain_id(domain)
c.set_user_id(me)
c.register_to_core()
keypair = bbclib.KeyPair()
keypair.generate()
out("ready")

msg = c.callback.synchronize(timeout=30)
assert msg is not None and msg[KeyType.command] == MsgType.REQUEST_SIGNATURE, msg
tx = bbclib.BBcTransaction(deserialize=msg[KeyType.transaction_data])
sig = tx.sign(keypair=keypair)
c.sendback_signature(msg[KeyType.source_user_id], tx.transaction_id, -1, sig)
out("signed", tx.transaction_id.hex())

tx2 = bbclib.make_transaction(event_num=1, witness=True)
bbclib.add_event_asset(tx2, event_idx=0, asset_group_id=group, user_id=me, asset_body=b"from python")
tx2.witness.add_witness(me)
tx2.witness.add_witness(ts_user)
tx2.add_signature(user_id=me, signature=tx2.sign(keypair=keypair))
c.gather_signatures(tx2, destinations=[ts_user])
res = c.callback.synchronize(timeout=30)
if res is None or res.get(KeyType.status) != 0:
    out("gathered", None if res is None else res.get(KeyType.status), False)
else:
    ref_index, signer, s = res[KeyType.result]
    tx2.add_signature(user_id=signer, signature=s)
    out("gathered", 0, s.verify(tx2.digest()), ref_index, signer.hex())
    c.insert_transaction(tx2)
    ins = c.callback.synchronize(timeout=30)
    out("inserted", ins.get(KeyType.status), ins.get(KeyType.transaction_id, b"").hex())

m = c.callback.synchronize(timeout=30)
out("message", m[KeyType.message].hex() if m is not None and KeyType.message in m else None)
c.unregister_from_core()
