#!/usr/bin/env python3
"""Drives the ORIGINAL bbc_app.BBcAppClient (bbc1 v1.1.1) through a fixed sequence of calls against a
capturing TCP server, so that wire-compare.test.ts can compare its frames byte for byte with what
@bbc1/client sends for the same sequence. Manual interop only (needs /work/pyref, see its README-local.md).

    python3 pyclient_calls.py PORT DOMAIN_HEX USER_HEX OTHER_HEX TX_HEX [NODEKEY_PEM_PATH]
"""
from gevent import monkey
monkey.patch_all()

import sys
import time
import warnings

warnings.filterwarnings("ignore")
from bbc1.core import bbc_app, bbclib

port = int(sys.argv[1])
domain, user, other, txdata = (bytes.fromhex(a) for a in sys.argv[2:6])
pem = sys.argv[6] if len(sys.argv) > 6 else None

c = bbc_app.BBcAppClient(port=port, multiq=False)
c.set_domain_id(domain)
c.set_user_id(user)
if pem:
    c.set_node_key(pem)
tx = bbclib.BBcTransaction(deserialize=txdata)

c.register_to_core()
c.register_to_core(on_multiple_nodes=True)
c.insert_transaction(tx)
c.search_transaction(tx.transaction_id)
c.search_transaction_with_condition(asset_group_id=other, user_id=user, count=5)
c.search_transaction_with_condition(asset_id=other, direction=1)
c.count_transactions(asset_group_id=other, asset_id=user, user_id=other)
c.traverse_transactions(tx.transaction_id, user_id=user, direction=0, hop_count=5)
c.traverse_transactions(tx.transaction_id)
c.send_message("hello", other)
c.send_message(b"\x00\x01bytes", other, is_anycast=True)
c.request_insert_completion_notification(other)
c.cancel_insert_completion_notification(other)
c.request_to_repair_transaction(tx.transaction_id)
c.request_to_repair_asset(other, user)
c.request_verify_by_cross_ref(tx.transaction_id)
c.request_cross_ref_holders_list()
c.register_in_ledger_subsystem(other, tx.transaction_id)
c.verify_in_ledger_subsystem(other, tx.transaction_id)
c.gather_signatures(tx, destinations=[other, user], asset_files={other: b"file"})
c.sendback_signature(other, tx.transaction_id, -1, tx.signatures[0], query_id=b"\x07\x08")
c.sendback_signature(other, tx.transaction_id, 2, tx.signatures[0])
c.sendback_denial_of_sign(other, tx.transaction_id, "no thanks", query_id=b"\x01\x02")
c.domain_setup(other, '{"a": 1}')
c.domain_close(other)
c.get_domain_neighborlist(other)
c.set_domain_static_node(other, user, "10.0.0.1", "::1", 6641)
c.send_domain_ping(other, "10.0.0.2", None, 6642)
c.get_bbc_config()
c.notify_domain_key_update()
c.get_domain_list()
c.get_user_list()
c.get_forwarding_list()
c.get_notification_list()
c.manipulate_ledger_subsystem(True, other)
c.get_stats()
c.unregister_from_core()
time.sleep(0.5)
c.connection.close()
