// SPDX-License-Identifier: GPL-2.0
/*
 * The remsim dashboard: polls the REST API every two seconds and draws
 * modem slots, bank slots with their cards and tags, leases, and banks; a
 * modem slot is (re)mapped by choosing a card, a lease released by its
 * owner. Everything a bankd or client reported
 * (reader names, ICCIDs, host names) is put into the page as text, never
 * as markup. The token, when the server wants one, lives in this tab's
 * sessionStorage only.
 */
'use strict';

const API = '/api/backend/v1';
const POLL_MS = 2000;
const TOKEN_KEY = 'remsim-token';

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let busy = false;		/* a map change is under way: no redraw */
const lastApdus = new Map();	/* bank slot -> { apdus, time } for APDU/s */

class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

async function api(method, path, body) {
	const headers = {};

	if (token)
		headers.Authorization = 'Bearer ' + token;
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	const r = await fetch(API + path, {
		method, headers, cache: 'no-store',
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	let data = null;

	try {
		data = await r.json();
	} catch (e) {
		/* an empty answer (201, 200 on DELETE) */
	}
	if (!r.ok)
		throw new ApiError(r.status, (data && data.error) || r.statusText);
	return data;
}

function cell(tr, text, cls) {
	const td = document.createElement('td');

	td.textContent = text === undefined || text === null ? '' : String(text);
	if (cls)
		td.className = cls;
	tr.appendChild(td);
	return td;
}

function fill(table, rows, empty) {
	const tbody = document.querySelector(table + ' tbody');

	tbody.replaceChildren(...rows);
	if (!rows.length) {
		const tr = document.createElement('tr');
		const td = cell(tr, empty);

		tr.className = 'empty';
		td.colSpan = document.querySelectorAll(table + ' thead th').length;
		tbody.appendChild(tr);
	}
}

function say(text, info) {
	const m = document.getElementById('message');

	m.textContent = text;
	m.className = info ? 'info' : '';
	m.hidden = !text;
}

const bankKey = (b) => b.bankId + ':' + b.slotNr;
const clientKey = (c) => c.clientId + ':' + c.slotNr;
const stateClass = (s) => /CONNECTED|ACTIVE|present|idle|busy/i.test(s || '') ?
	'state-ok' : 'state-bad';

/* "C23:0" -> { clientId: 23, slotNr: 0 } */
function parseClientPeer(name) {
	const m = /^C(\d+):(\d+)$/.exec(name || '');

	return m ? { clientId: Number(m[1]), slotNr: Number(m[2]) } : null;
}

/* bankd's card time (SCardTransmit) for the slot: null until it answered */
function latencyText(c) {
	const ms = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 0);

	if (typeof c.cardTimeP50Us !== 'number' || typeof c.cardTimeP99Us !== 'number')
		return '';
	return ms(c.cardTimeP50Us) + ' / ' + ms(c.cardTimeP99Us) + ' ms';
}

function apduRate(key, apdus, now) {
	const before = lastApdus.get(key);

	lastApdus.set(key, { apdus, time: now });
	if (!before || apdus < before.apdus || now <= before.time)
		return '';
	return ((apdus - before.apdus) * 1000 / (now - before.time)).toFixed(1);
}

function cardLabel(c) {
	let s = 'B' + bankKey(c.bank);

	if (c.iccid)
		s += ' ' + c.iccid;
	if (c.map)
		s += ' (C' + clientKey(c.map) + ')';
	return s;
}

function drawCards(cards, now) {
	fill('#cards', cards.map((c) => {
		const tr = document.createElement('tr');
		const key = bankKey(c.bank);

		tr.dataset.bank = key;
		cell(tr, 'B' + key);
		cell(tr, c.reader);
		cell(tr, c.iccid, 'iccid');
		cell(tr, c.imsi);
		cell(tr, c.state, stateClass(c.state));
		cell(tr, c.since);
		cell(tr, c.apdus, 'num');
		cell(tr, apduRate(key, c.apdus, now), 'num');
		cell(tr, latencyText(c), 'num');
		cell(tr, c.map ? 'C' + clientKey(c.map) +
		     (c.map.modemPath ? ' ' + c.map.modemPath : '') : '');
		cell(tr, (c.tags || []).join(' '), 'tags');
		return tr;
	}), 'no bank slot has reported (is a remsim-bankd connected?)');
}

function drawLeases(leases) {
	fill('#leases', leases.map((l) => {
		const tr = document.createElement('tr');
		const rel = document.createElement('button');

		tr.dataset.lease = l.id;
		cell(tr, l.id, 'num');
		cell(tr, 'B' + bankKey(l.bank) + ' ' + l.iccid);
		cell(tr, 'C' + clientKey(l.client));
		cell(tr, l.owner, 'owner');
		cell(tr, l.expires);
		/* only its owner may release it: the server says so to others */
		rel.textContent = 'Release';
		rel.className = 'release';
		rel.addEventListener('click', () => change('lease ' + l.id + ' released',
			[() => api('DELETE', '/leases/' + l.id)]));
		const act = cell(tr, '');

		if (l.mine)
			act.appendChild(rel);
		return tr;
	}), 'no lease is held');
}

function drawBanks(banks) {
	fill('#banks', banks.map((b) => {
		const tr = document.createElement('tr');

		cell(tr, b.peer);
		cell(tr, b.component_id && b.component_id.name);
		cell(tr, b.state, stateClass(b.state));
		cell(tr, b.numberOfSlots, 'num');
		cell(tr, b.component_id &&
		     b.component_id.software + ' ' + b.component_id.swVersion);
		return tr;
	}), 'no bank is connected');
}

/* Every client slot connected or named by a map, in client order. */
function modemSlots(clients, maps) {
	const slots = new Map();

	for (const p of clients) {
		const c = parseClientPeer(p.peer);

		if (c)
			slots.set(clientKey(c), { client: c, peer: p });
	}
	for (const m of maps)
		if (!slots.has(clientKey(m.client)))
			slots.set(clientKey(m.client), { client: m.client, peer: null });
	return [...slots.values()].sort((a, b) =>
		a.client.clientId - b.client.clientId || a.client.slotNr - b.client.slotNr);
}

function drawClients(clients, maps, cards) {
	const byClient = new Map(maps.map((m) => [clientKey(m.client), m]));
	const byBank = new Map(cards.map((c) => [bankKey(c.bank), c]));
	/* keep what the user chose in a select across redraws */
	const chosen = new Map([...document.querySelectorAll('#clients select')]
		.map((s) => [s.dataset.slot, s.value]));

	fill('#clients', modemSlots(clients, maps).map((s) => {
		const tr = document.createElement('tr');
		const key = clientKey(s.client);
		const map = byClient.get(key);
		const card = map && byBank.get(bankKey(map.bank));
		const sel = document.createElement('select');
		const go = document.createElement('button');
		const un = document.createElement('button');

		tr.dataset.slot = key;
		cell(tr, 'C' + key);
		cell(tr, [s.peer && s.peer.component_id && s.peer.component_id.name,
			  card && card.map && card.map.modemPath].filter(Boolean).join(' '),
		     'host');
		cell(tr, s.peer ? s.peer.state : 'not connected',
		     stateClass(s.peer && s.peer.state));
		cell(tr, map ? 'B' + bankKey(map.bank) + (card && card.iccid ?
			' ' + card.iccid : '') + ' (' + map.state + ')' : '', 'card');
		sel.dataset.slot = key;
		sel.setAttribute('aria-label', 'card for C' + key);
		for (const c of cards) {
			const o = document.createElement('option');

			o.value = bankKey(c.bank);
			o.textContent = cardLabel(c);
			sel.appendChild(o);
		}
		sel.value = chosen.get(key) || (map ? bankKey(map.bank) : sel.value);
		cell(tr, '').appendChild(sel);
		go.textContent = 'Map';
		go.className = 'map';
		go.addEventListener('click', () => remap(s.client, sel.value, map));
		un.textContent = 'Unmap';
		un.className = 'unmap';
		un.disabled = !map;
		un.addEventListener('click', () => unmap(map));
		const td = cell(tr, '');

		td.appendChild(go);
		td.appendChild(un);
		return tr;
	}), 'no modem slot is connected or mapped');
}

const mapId = (bank) => bank.bankId * 65536 + bank.slotNr;

async function change(what, steps) {
	busy = true;
	try {
		for (const step of steps)
			await step();
		say(what, true);
	} catch (e) {
		say(what + ' failed: ' + e.status + ' ' + e.message);
		if (e.status === 401)
			askToken();
	} finally {
		busy = false;
		refresh();
	}
}

function remap(client, bankText, old) {
	const [bankId, slotNr] = bankText.split(':').map(Number);
	const bank = { bankId, slotNr };
	const steps = [];

	if (old && bankKey(old.bank) === bankText)
		return say('C' + clientKey(client) + ' has B' + bankText + ' already', true);
	if (old)
		steps.push(() => api('DELETE', '/slotmaps/' + mapId(old.bank)));
	steps.push(() => api('POST', '/slotmaps', { bank, client }));
	return change('C' + clientKey(client) + ' mapped to B' + bankText, steps);
}

function unmap(map) {
	return change('C' + clientKey(map.client) + ' unmapped from B' + bankKey(map.bank),
		      [() => api('DELETE', '/slotmaps/' + mapId(map.bank))]);
}

function askToken() {
	const form = document.getElementById('login');

	form.hidden = false;
	document.getElementById('token').focus();
}

async function refresh() {
	const status = document.getElementById('status');

	if (busy)
		return;
	try {
		const [clients, banks, maps, cards, rc, leases] = await Promise.all([
			api('GET', '/clients'), api('GET', '/banks'), api('GET', '/slotmaps'),
			api('GET', '/cards'), api('GET', '/restart-counter'), api('GET', '/leases'),
		]);
		const now = Date.now();

		if (busy)
			return;
		document.getElementById('login').hidden = true;
		drawCards(cards.cards, now);
		drawLeases(leases.leases);
		drawBanks(banks.banks);
		drawClients(clients.clients, maps.slotmaps, cards.cards);
		status.textContent = 'updated ' + new Date(now).toLocaleTimeString() +
			', server start ' + rc.restart_counter;
		status.className = '';
	} catch (e) {
		status.textContent = 'no answer: ' + (e.status || '') + ' ' + e.message;
		status.className = 'stale';
		if (e.status === 401)
			askToken();
	}
}

document.getElementById('login').addEventListener('submit', (ev) => {
	ev.preventDefault();
	token = document.getElementById('token').value.trim();
	sessionStorage.setItem(TOKEN_KEY, token);
	say('');
	refresh();
});
refresh();
setInterval(refresh, POLL_MS);
