//! What the TU sends: new requests, CANCEL, ACK for 2xx, responses.

use super::{ClientTxId, Endpoint, ServerTxId, build};
use crate::error::Error;
use crate::transaction::client::{ClientState, ClientTransaction};
use crate::transaction::key::{ClientKey, method_name};
use crate::transaction::server::AlreadyFinal;
use crate::transaction::timer::{TimerTable, TxRef};
use crate::transaction::{Sent, wire};
use crate::transport::Peer;
use rsip::headers::UntypedHeader;
use std::time::Instant;

impl Endpoint {
    /// Starts a client transaction: replaces any Via with ours (new branch,
    /// sent-by from `advertised`, `rport`), adds Max-Forwards 70 and
    /// User-Agent when missing, sets Content-Length, and sends `request` to
    /// `peer`. ACK and CANCEL have their own calls.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut request: rsip::Request,
        peer: Peer,
    ) -> Result<ClientTxId, Error> {
        let use_instead = match request.method {
            rsip::Method::Ack => Some("send_ack"),
            rsip::Method::Cancel => Some("cancel"),
            _ => None,
        };
        if let Some(use_instead) = use_instead {
            return Err(Error::WrongMethodForCall {
                method: method_name(&request.method),
                use_instead,
            });
        }
        check_headers(&request)?;
        let branch = self.add_our_via(&mut request, peer)?;
        // Last, so a request refused for another reason evicts nothing.
        self.check_room()?;
        let key = ClientKey {
            branch,
            method: method_name(&request.method).to_owned(),
        };
        let id = self.insert_client(request, peer, key);
        self.with_client(id, |tx, s, out| tx.start(now, s, out));
        Ok(id)
    }

    /// Sends CANCEL for the pending INVITE client transaction `invite`
    /// (RFC 3261 §9.1: same branch, Request-URI, Call-ID, From, To, CSeq
    /// number), as a new client transaction. Before the INVITE has seen a
    /// provisional response the CANCEL is held and sent on the first one;
    /// if the INVITE gets a final response first, the held CANCEL ends
    /// unsent and without an event (the INVITE's response tells the story).
    /// Once sent, the INVITE is given up (`ClientTimeout`) if no final
    /// response arrives within 64*T1.
    pub fn cancel(&mut self, now: Instant, invite: ClientTxId) -> Result<ClientTxId, Error> {
        let tx = self.clients.get(&invite).ok_or(Error::UnknownTransaction)?;
        let cancellable = tx.is_invite()
            && matches!(tx.state, ClientState::Calling | ClientState::Proceeding)
            && tx.pending_cancel.is_none();
        let key = ClientKey {
            branch: tx.key.branch.clone(),
            method: "CANCEL".to_owned(),
        };
        if !cancellable || self.client_index.contains_key(&key) {
            return Err(Error::NotCancellable);
        }
        let (request, peer, held) = (
            build::cancel_for(&tx.request),
            tx.peer,
            tx.state == ClientState::Calling,
        );
        self.check_room()?;
        let id = self.insert_client(request, peer, key);
        if held {
            if let Some(tx) = self.clients.get_mut(&invite) {
                tx.pending_cancel = Some(id);
            }
        } else {
            self.with_client(id, |tx, s, out| tx.start(now, s, out));
            self.with_client(invite, |tx, s, _| tx.guard_cancel(now, s));
        }
        Ok(id)
    }

    /// Sends the ACK for a 2xx received on INVITE client transaction
    /// `invite` (a new branch, outside any transaction: our Via replaces any
    /// other); it is kept and re-sent for each retransmission of that 2xx
    /// (matched by To tag) until the transaction ends, 64*T1 after the
    /// first 2xx.
    pub fn send_ack(
        &mut self,
        now: Instant,
        invite: ClientTxId,
        mut ack: rsip::Request,
        peer: Peer,
    ) -> Result<(), Error> {
        let _ = now;
        if ack.method != rsip::Method::Ack {
            return Err(Error::NoSuccessToAcknowledge);
        }
        if !self.clients.contains_key(&invite) {
            return Err(Error::UnknownTransaction);
        }
        self.add_our_via(&mut ack, peer)?;
        let payload = wire::encode_request(&ack);
        let stored = self
            .clients
            .get_mut(&invite)
            .is_some_and(|tx| tx.store_ack(&ack, payload.clone(), peer));
        if !stored {
            return Err(Error::NoSuccessToAcknowledge);
        }
        self.out.send(peer, payload, Sent::Request("ACK"), false);
        Ok(())
    }

    /// Answers server transaction `tx`. The response goes where RFC 3261
    /// §18.2.2 and RFC 3581 say (received/rport, or the same TCP connection).
    /// Content-Length is set from the body; Server is added when configured
    /// and missing.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        mut response: rsip::Response,
    ) -> Result<(), Error> {
        if !self.servers.contains_key(&tx) {
            return Err(Error::UnknownTransaction);
        }
        let mut headers: Vec<rsip::Header> = std::mem::take(&mut response.headers).into();
        headers.retain(|h| !matches!(h, rsip::Header::ContentLength(_)));
        if let Some(server) = &self.config.user_agent
            && !headers.iter().any(|h| matches!(h, rsip::Header::Server(_)))
        {
            headers.push(rsip::Header::Server(rsip::headers::Server::new(
                server.clone(),
            )));
        }
        headers.push(rsip::Header::ContentLength(
            rsip::headers::ContentLength::new(response.body.len().to_string()),
        ));
        response.headers = headers.into();
        match self.with_server(tx, |t, s, out| t.respond(now, &response, s, out)) {
            Some(Ok(())) => Ok(()),
            Some(Err(AlreadyFinal)) => Err(Error::AlreadyAnswered),
            None => Err(Error::UnknownTransaction),
        }
    }

    fn check_room(&mut self) -> Result<(), Error> {
        if !self.make_room() {
            self.out.stats.table_full += 1;
            return Err(Error::TooManyTransactions {
                limit: self.config.max_transactions,
            });
        }
        Ok(())
    }

    /// Writes our Via (new branch) and the other headers we own; returns the branch.
    fn add_our_via(&mut self, request: &mut rsip::Request, peer: Peer) -> Result<String, Error> {
        let sent_by = self.advertised_address(peer.transport, peer.remote).ok_or(
            Error::NoAdvertisedAddress {
                transport: peer.transport,
            },
        )?;
        let branch = build::branch(&mut self.rng);
        let via = format!(
            "SIP/2.0/{} {sent_by};branch={branch};rport",
            peer.transport.via_token()
        );
        build::prepare_outgoing(request, via, self.config.user_agent.as_deref());
        Ok(branch)
    }

    fn insert_client(&mut self, request: rsip::Request, peer: Peer, key: ClientKey) -> ClientTxId {
        let id = ClientTxId(self.next_id());
        let tx = ClientTransaction::new(id, request, peer, key.clone());
        self.timers
            .sync(TxRef::Client(id), &TimerTable::default(), &tx.timers);
        self.clients.insert(id, Box::new(tx));
        self.client_index.insert(Box::new(key), id);
        id
    }
}

/// The headers every request needs before it can be matched to its
/// responses (RFC 3261 §8.1.1); the TU must supply them.
fn check_headers(request: &rsip::Request) -> Result<(), Error> {
    let missing = |name: &'static str, present: bool| {
        if present {
            Ok(())
        } else {
            Err(Error::MissingHeader { name })
        }
    };
    let has = |f: fn(&rsip::Header) -> bool| request.headers.iter().any(f);
    missing("To", has(|h| matches!(h, rsip::Header::To(_))))?;
    missing("From", has(|h| matches!(h, rsip::Header::From(_))))?;
    missing("Call-ID", has(|h| matches!(h, rsip::Header::CallId(_))))?;
    missing(
        "CSeq",
        crate::transaction::key::cseq(&request.headers).is_some(),
    )
}
