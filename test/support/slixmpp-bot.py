"""A slixmpp bot for Papillon's tests (issue 9): signs in with X-MESSENGER-OAUTH2.

Usage: slixmpp-bot.py JID HOST PORT CA_FILE PEER_JID; the access token comes on stdin.
It signs in with the token and nothing else (slixmpp sends the token as it is, not
base64), says hello to PEER_JID, waits for one message back and prints one JSON line
per event on stdout: {"event": "session_start"}, {"event": "message", "body": ...},
{"event": "failed_auth"}, {"event": "disconnected"}.
"""

import asyncio
import json
import ssl
import sys

import slixmpp


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, token, peer):
        super().__init__(jid, "")
        self.peer = peer
        self.credentials["access_token"] = token
        self["feature_mechanisms"].use_mech = "X-MESSENGER-OAUTH2"
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_all_auth", self.on_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    async def on_start(self, _event):
        self.send_presence()
        await self.get_roster()
        report("session_start", jid=str(self.boundjid))
        self.send_message(mto=self.peer, mbody="hello from slixmpp", mtype="chat")

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            report("message", sender=str(msg["from"]), body=msg["body"])
            self.disconnect()

    def on_failed(self, _event):
        report("failed_auth")
        self.disconnect()

    def on_disconnected(self, _event):
        report("disconnected")
        asyncio.get_event_loop().stop()


def main():
    jid, host, port, ca_file, peer = sys.argv[1:6]
    token = sys.stdin.readline().strip()
    bot = Bot(jid, token, peer)
    bot.register_plugin("xep_0030")
    context = ssl.create_default_context(cafile=ca_file)
    bot.ssl_context = context
    bot.connect((host, int(port)))
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
