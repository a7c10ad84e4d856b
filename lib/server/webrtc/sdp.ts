/**
 * What the edge reads of a browser's SDP offer (RFC 8866, JSEP RFC 8829): per m-line its kind,
 * mid, direction, the payload type of the one codec Convene carries (Opus/48000/2 for audio,
 * VP8/90000 for video), the RFC 6464 audio level extension id, and the sender's SSRC. Pure,
 * never throws: an offer the edge cannot answer gets a reason (the request fails with 4418).
 * libdatachannel parses the offer again for ICE and DTLS; this only decides what to answer.
 */

export type SdpDirection = 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';

export interface OfferMedia {
  kind: 'audio' | 'video';
  mid: string;
  direction: SdpDirection;
  /** payload type of Opus/48000/2 (audio) or VP8/90000 (video) in this m-line */
  payloadType: number;
  /** `urn:ietf:params:rtp-hdrext:ssrc-audio-level` extension id, when offered */
  audioLevelId?: number;
  /** the sender's media SSRC (the first of an FID group, else the first a=ssrc), when given */
  ssrc?: number;
}

export interface Offer {
  audio?: OfferMedia;
  video?: OfferMedia;
}

export type OfferParse = { ok: true; offer: Offer } | { ok: false; reason: string };

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const MAX_LINES = 2000;
/** m-lines: one audio and one video at most; a bundled data channel is refused too (not a media of Convene's). */
const MAX_MEDIA = 2;

interface Section {
  kind: string;
  pts: number[];
  lines: string[];
}

/**
 * Parses an offer. `want`: the direction the browser must have on each m-line
 * (publish: it sends, 'sendonly' or 'sendrecv'; subscribe: it receives, 'recvonly' or 'sendrecv').
 */
export function parseOffer(sdp: string, want: 'send' | 'recv'): OfferParse {
  const lines = sdp.split(/\r?\n/);
  if (lines.length > MAX_LINES) return { ok: false, reason: `SDP of more than ${MAX_LINES} lines` };
  if (lines[0]?.trim() !== 'v=0') return { ok: false, reason: "SDP does not start with 'v=0'" };
  const sections: Section[] = [];
  let sessionDirection: SdpDirection | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) return { ok: false, reason: `SDP line is not '<letter>=<value>': '${line.slice(0, 40)}'` };
    if (line.startsWith('m=')) {
      const m = /^m=(\S+) \d+(?:\/\d+)? (\S+)((?: \S+)*)$/.exec(line);
      if (!m) return { ok: false, reason: `malformed m-line '${line.slice(0, 60)}'` };
      const pts = (m[3] ?? '').trim().split(' ').filter((x) => x !== '').map(Number);
      sections.push({ kind: m[1] as string, pts, lines: [] });
      if (sections.length > MAX_MEDIA) return { ok: false, reason: `more than ${MAX_MEDIA} m-lines (one audio and one video at most)` };
      continue;
    }
    const cur = sections[sections.length - 1];
    if (cur) cur.lines.push(line);
    else if (isDirection(line.slice(2))) sessionDirection = line.slice(2) as SdpDirection;
  }
  if (sections.length === 0) return { ok: false, reason: 'SDP offer has no m-line' };
  const offer: Offer = {};
  for (const s of sections) {
    if (s.kind !== 'audio' && s.kind !== 'video') return { ok: false, reason: `m-line of kind '${s.kind.slice(0, 20)}': only audio and video are carried` };
    if (offer[s.kind]) return { ok: false, reason: `more than one ${s.kind} m-line` };
    const r = media(s, s.kind, sessionDirection);
    if (typeof r === 'string') return { ok: false, reason: r };
    const okDir = want === 'send' ? r.direction === 'sendonly' || r.direction === 'sendrecv' : r.direction === 'recvonly' || r.direction === 'sendrecv';
    if (!okDir) return { ok: false, reason: `${s.kind} m-line is ${r.direction}: this request needs ${want === 'send' ? 'sendonly' : 'recvonly'}` };
    offer[s.kind] = r;
  }
  return { ok: true, offer };
}

function isDirection(s: string): boolean {
  return s === 'sendonly' || s === 'recvonly' || s === 'sendrecv' || s === 'inactive';
}

function media(s: Section, kind: 'audio' | 'video', sessionDirection: SdpDirection | undefined): OfferMedia | string {
  let mid: string | undefined;
  let direction: SdpDirection = sessionDirection ?? 'sendrecv';
  let payloadType: number | undefined;
  let audioLevelId: number | undefined;
  let firstSsrc: number | undefined;
  let fidSsrc: number | undefined;
  const codec = kind === 'audio' ? /^opus\/48000(\/2)?$/i : /^vp8\/90000$/i;
  for (const line of s.lines) {
    const v = line.slice(2);
    if (v.startsWith('mid:')) mid = v.slice(4);
    else if (isDirection(v)) direction = v as SdpDirection;
    else if (v.startsWith('rtpmap:')) {
      const m = /^rtpmap:(\d+) (\S+)$/.exec(v);
      if (m && payloadType === undefined && codec.test(m[2] as string) && s.pts.includes(Number(m[1]))) payloadType = Number(m[1]);
    } else if (v.startsWith('extmap:')) {
      const m = /^extmap:(\d+)(?:\/\w+)? (\S+)/.exec(v);
      if (m && m[2] === AUDIO_LEVEL_URI) audioLevelId = Number(m[1]);
    } else if (v.startsWith('ssrc-group:FID ')) {
      const n = Number(v.split(' ')[1]);
      if (fidSsrc === undefined && isU32(n)) fidSsrc = n;
    } else if (v.startsWith('ssrc:')) {
      const n = Number(/^ssrc:(\d+)/.exec(v)?.[1]);
      if (firstSsrc === undefined && isU32(n)) firstSsrc = n;
    }
  }
  if (mid === undefined || mid === '' || mid.length > 32 || !/^[\w\-.~]+$/.test(mid)) return `${kind} m-line without a usable a=mid`;
  if (payloadType === undefined || payloadType > 127) return `${kind} m-line offers no ${kind === 'audio' ? 'Opus/48000/2' : 'VP8/90000'}`;
  // one-byte header extensions: ids 1..14 (the edge writes the audio level in that form)
  if (audioLevelId !== undefined && (audioLevelId < 1 || audioLevelId > 14)) audioLevelId = undefined;
  const out: OfferMedia = { kind, mid, direction, payloadType };
  if (audioLevelId !== undefined) out.audioLevelId = audioLevelId;
  const ssrc = fidSsrc ?? firstSsrc;
  if (ssrc !== undefined) out.ssrc = ssrc;
  return out;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * Adds, for each host UDP candidate of an answer, the same candidate at `publicIp` (a 1:1 NAT
 * or a load balancer in front of the server: its clients reach the same port at that address).
 * One per (component, port) and m-section; its priority is one below the original's, its
 * foundation its own.
 */
export function addPublicCandidates(sdp: string, publicIp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  let n = 0;
  /** ports already announced at the public address, in this m-section */
  let ports = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) {
    out.push(line);
    if (line.startsWith('m=')) ports = new Set();
    const m = /^a=candidate:(\S+) (\d+) (udp) (\d+) (\S+) (\d+) typ host(.*)$/i.exec(line);
    if (!m || m[5] === publicIp || ports.has(`${m[2]}/${m[6]}`)) continue;
    ports.add(`${m[2]}/${m[6]}`);
    const priority = Math.max(0, Number(m[4]) - 1);
    out.push(`a=candidate:p${++n}${m[1]} ${m[2]} ${m[3]} ${priority} ${publicIp} ${m[6]} typ host${m[7] ?? ''}`);
  }
  return out.join(eol);
}
