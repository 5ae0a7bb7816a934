// The console's page: plain browser JavaScript, served as it is (no build step). Everything shown comes from the
// JSON API next to it; record values are untrusted, so they are only ever set as text, never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  for (const child of children) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

function showError(message) {
  $('error-text').textContent = message;
  $('error').hidden = false;
}
$('error-close').addEventListener('click', () => {
  $('error').hidden = true;
});
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError(String(event.reason?.message ?? event.reason));
});

/** Calls the console's API; a failure is shown with the server's message and rethrown. */
async function api(path, init) {
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error(`the console does not answer (is npm start still running?): ${error.message}`);
  }
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

/** Runs a user action: errors go to the banner, never to a blank panel. */
function action(work) {
  return (event) => {
    event?.preventDefault();
    $('error').hidden = true;
    work().catch((error) => showError(error.message));
  };
}

const path = (...parts) => parts.map((part) => encodeURIComponent(part)).join('/');
const json = (value) => JSON.stringify(value, null, 2);

// ---------- The pipeline as a picture ----------

let graphNodes = new Map();

function drawGraph(graph) {
  const svg = el('svg:svg', {
    width: graph.width,
    height: graph.height,
    viewBox: `0 0 ${graph.width} ${graph.height}`,
    role: 'img',
    'aria-label': `the pipeline ${graph.pipeline}`,
  });
  const at = new Map(graph.nodes.map((placed) => [placed.node.id, placed]));
  const edges = el('svg:g', { class: 'edges' });
  for (const edge of graph.edges) {
    const from = at.get(edge.from);
    const to = at.get(edge.to);
    if (!from || !to) continue;
    const [x1, y1] = [from.x + from.width, from.y + from.height / 2];
    const [x2, y2] = [to.x, to.y + to.height / 2];
    const bend = Math.max(30, (x2 - x1) / 2);
    edges.append(
      el('svg:path', {
        class: `edge ${edge.kind}`,
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        'marker-end': 'url(#arrow)',
        'data-edge': `${edge.from}->${edge.to}`,
      }),
    );
  }
  const defs = el(
    'svg:defs',
    {},
    el(
      'svg:marker',
      { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      el('svg:path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a93a6' }),
    ),
  );
  svg.append(defs, edges);
  graphNodes = new Map();
  for (const placed of graph.nodes) {
    const node = placed.node;
    const classes = ['node', node.kind];
    if (node.kind === 'topic') classes.push(node.topicKind);
    const clickable = (node.kind === 'consumer' && node.deadLetterTopic) || (node.kind === 'topic' && explainable.has(node.name));
    if (clickable) classes.push('clickable');
    const numbers = el('svg:text', { class: 'numbers', x: 8, y: 48 }, '');
    const group = el(
      'svg:g',
      {
        class: classes.join(' '),
        transform: `translate(${placed.x},${placed.y})`,
        'data-node': node.id,
        tabindex: clickable ? 0 : undefined,
      },
      el('svg:title', {}, describeNode(node)),
      el('svg:rect', { width: placed.width, height: placed.height }),
      el('svg:text', { class: 'name', x: 8, y: 17 }, shorten(node.name, NAME_CHARACTERS)),
      el('svg:text', { class: 'kind', x: 8, y: 32 }, kindText(node)),
      numbers,
    );
    if (clickable) {
      const open = action(async () => (node.kind === 'consumer' ? openDeadLetters(node.name) : prefillExplain(node.name)));
      group.addEventListener('click', open);
      group.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') open(event);
      });
    }
    graphNodes.set(node.id, { group, numbers, node, title: group.querySelector('title') });
    svg.append(group);
  }
  $('graph').replaceChildren(svg);
}

function kindText(node) {
  if (node.kind === 'topic') return `${node.topicKind} topic · ${node.partitions} partition${node.partitions === 1 ? '' : 's'}`;
  if (node.kind === 'consumer') {
    const roles = {
      'join-left': 'join, left side',
      'join-right': 'join, right side',
      'hot-stream': 'hot stream',
      'cdc-mapping': 'CDC mapping',
      consumer: 'consumer',
    };
    return `λ ${roles[node.role]}`;
  }
  if (node.kind === 'table') return 'DynamoDB table';
  return `PostgreSQL ${node.database} (CDC source)`;
}

function describeNode(node) {
  if (node.kind === 'consumer')
    return `${node.name}: ${kindText(node)}${node.group ? ` of ${node.group}` : ''}${node.deadLetterTopic ? `, dead letters to ${node.deadLetterTopic} (click to list)` : ''}`;
  if (node.kind === 'topic' && explainable.has(node.name)) return `${node.name}: a join's output (click to explain a key)`;
  return `${node.name}: ${kindText(node)}`;
}

/** As many characters of a name as fit a box in bold (the whole name is in the box's tooltip). */
const NAME_CHARACTERS = 27;

function shorten(text, length) {
  // The end of a name tells parts apart (…items-with-flyer.left, …items-with-flyer.right): the middle goes.
  return text.length > length ? `${text.slice(0, 8)}…${text.slice(text.length - (length - 9))}` : text;
}

/** Writes a live snapshot onto the picture: rates, lag and failures per consumer, records and rates per topic. */
function showLive(snapshot) {
  for (const { group, numbers, node, title } of graphNodes.values()) {
    let text = '';
    let alert = false;
    if (node.kind === 'consumer') {
      const live = snapshot.consumers[node.name];
      if (!live) continue;
      // "failed": records the event source dead-lettered; failed invocations (retried) show as a red border.
      text = `${live.perSecond}/s · lag ${live.lag ?? '?'} · ${live.deadLettered} failed`;
      alert = live.deadLettered > 0;
      group.classList.toggle('stopped', live.state === 'stopped');
      group.classList.toggle('failing', live.failedInvocations > 0 && live.lastError !== null);
      if (live.state === 'stopped') text = `stopped · lag ${live.lag ?? '?'}`;
      title.textContent = [
        describeNode(node),
        `${live.succeeded} records handled in ${live.invocations} invocations, ${live.failedInvocations} of them failed (retried)`,
        `${live.deadLettered} records dead-lettered by the event source`,
        live.lastError ? `last error: ${live.lastError}` : '',
      ]
        .filter(Boolean)
        .join('\n');
    } else if (node.kind === 'topic') {
      const live = snapshot.topics[node.name];
      if (!live) continue;
      text = `${live.records} records · ${live.perSecond}/s`;
      alert = node.topicKind === 'dead-letter' && live.records > 0;
    } else if (node.kind === 'source') {
      const capture = snapshot.captures.find((status) => status.source === node.name);
      if (!capture) continue;
      text = `${capture.connector}${capture.task ? ` / task ${capture.task}` : ''}`;
      alert = capture.connector !== 'RUNNING' || (capture.task !== undefined && capture.task !== 'RUNNING');
    }
    numbers.textContent = text;
    numbers.classList.toggle('alert', alert);
    group.dataset.live = text;
  }
  const problems = snapshot.problems ?? [];
  $('problems').hidden = problems.length === 0;
  $('problems').textContent = problems.length === 0 ? '' : `Could not read: ${problems.join('; ')}`;
}

function followLive() {
  const status = $('live-status');
  const source = new EventSource('/api/live/stream');
  source.addEventListener('open', () => {
    status.dataset.state = 'live';
    status.textContent = 'live';
  });
  source.addEventListener('message', (event) => {
    const snapshot = JSON.parse(event.data);
    status.dataset.state = 'live';
    status.textContent = `live · ${new Date(snapshot.at).toLocaleTimeString()}`;
    showLive(snapshot);
  });
  // EventSource reconnects by itself after a lost connection, but not after an answer that is not a stream.
  source.addEventListener('error', () => {
    status.dataset.state = 'lost';
    status.textContent = source.readyState === EventSource.CLOSED ? 'not live: reload the page' : 'not live: reconnecting…';
  });
}

// ---------- Dead letters ----------

let letters = [];
let openLetter;

function openDeadLetters(consumer) {
  $('dead-letters-consumer').value = consumer;
  $('dead-letters-section').scrollIntoView({ behavior: 'smooth' });
  return listLetters();
}

async function listLetters() {
  const consumer = $('dead-letters-consumer').value;
  const list = await api(`/api/dead-letters/${path(consumer)}`);
  letters = list.letters;
  $('letter').hidden = true;
  $('redrive-all').disabled = letters.length === 0;
  if (letters.length === 0) {
    $('dead-letters-list').replaceChildren(el('p', { class: 'empty' }, `No dead letters of ${consumer} in ${list.topic}.`));
    return;
  }
  const rows = letters.map((letter) => {
    const row = el(
      'tr',
      { 'data-letter': `${letter.partition}:${letter.offset}`, tabindex: 0 },
      el('td', {}, `${letter.partition}:${letter.offset}`),
      el('td', {}, letter.key ?? '(none)'),
      el('td', {}, `${letter.reason ?? ''}: ${letter.error ?? ''}`),
      el('td', {}, letter.source),
    );
    const open = action(() => showLetter(consumer, letter));
    row.addEventListener('click', open);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') open(event);
    });
    return row;
  });
  $('dead-letters-list').replaceChildren(
    el('p', { class: 'hint' }, `${letters.length} dead letter${letters.length === 1 ? '' : 's'} of ${consumer} in ${list.topic}:`),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, el('th', {}, 'at'), el('th', {}, 'key'), el('th', {}, 'why'), el('th', {}, 'from'))),
      el('tbody', {}, ...rows),
    ),
  );
}

async function showLetter(consumer, summary) {
  const record = await api(`/api/dead-letters/${path(consumer, summary.partition, summary.offset)}`);
  openLetter = { consumer, at: `${summary.partition}:${summary.offset}` };
  for (const row of document.querySelectorAll('#dead-letters-list tbody tr'))
    row.setAttribute('aria-selected', String(row.dataset.letter === openLetter.at));
  $('letter-title').textContent = `Letter ${openLetter.at} of ${consumer}`;
  const facts = [
    ['key', record.key ?? '(none)'],
    ['why', `${record.headers['x-dead-letter-reason'] ?? ''}: ${record.headers['x-dead-letter-error'] ?? ''}`],
    ['from', summary.source],
    ['failed at', record.headers['x-dead-letter-failed-at'] ?? ''],
    ['trace id', record.trace?.traceId ?? '(none)'],
    ['X-Ray trace id', record.trace?.xrayTraceId ?? '(none)'],
  ];
  $('letter-facts').replaceChildren(...facts.flatMap(([name, value]) => [el('dt', {}, name), el('dd', { 'data-fact': name }, value)]));
  $('letter-value').textContent = json(record.value);
  $('letter-headers').textContent = json(record.headers);
  $('letter').hidden = false;
}

/** Asks before anything is written; resolves true only on an explicit "Redrive". */
function confirmed(text) {
  return new Promise((resolve) => {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
  });
}

async function redrive(consumer, offset) {
  const what = offset === undefined ? `every pending dead letter of ${consumer}` : `the letter ${offset} of ${consumer}`;
  if (!(await confirmed(`Redrive ${what} to its source topic? Each letter is sent once, however often you redrive.`))) return;
  const outcome = await api(`/api/dead-letters/${path(consumer)}/redrive`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-console-confirmed': 'redrive' },
    body: JSON.stringify(offset === undefined ? {} : { offset }),
  });
  const result = $('redrive-result');
  result.hidden = false;
  result.textContent =
    outcome.offset === undefined
      ? `Redrove ${outcome.redriven} letter(s) of ${consumer}; ${outcome.alreadyRedriven} had been redriven before.`
      : outcome.redriven === 1
        ? `Redrove the letter ${outcome.offset} of ${consumer}.`
        : `The letter ${outcome.offset} of ${consumer} had been redriven before: nothing sent.`;
  // The list as it is now: a redriven letter stays in the topic (dead-letter topics are append-only), and a letter
  // that fails again arrives as a new one.
  $('dead-letters-consumer').value = consumer;
  await listLetters();
}

// ---------- State ----------

async function lookUpState() {
  const state = await api(`/api/state/${path($('state-store').value, $('state-key').value)}`);
  $('state-result').textContent = json(state);
  $('state-result').hidden = false;
}

// ---------- Explain ----------

let explainable = new Set();

function prefillExplain(topic) {
  $('explain-topic').value = topic;
  $('explain-section').scrollIntoView({ behavior: 'smooth' });
  $('explain-key').focus();
}

async function explain() {
  const explanation = await api(`/api/explain/${path($('explain-topic').value, $('explain-key').value)}`);
  const target = $('explain-result');
  if (explanation.lineage === null) {
    target.replaceChildren(el('p', { class: 'empty' }, `No record of key ${explanation.key} on ${explanation.topic}: nothing to explain.`));
    return;
  }
  target.replaceChildren(lineageView(explanation.lineage, undefined));
}

function lineageView(lineage, caused) {
  const record = lineage.record;
  const box = el(
    'div',
    { class: 'lineage', 'data-record': `${record.topic}-${record.partition}@${record.offset}` },
    el('div', { class: 'where' }, `${record.topic} · partition ${record.partition} · offset ${record.offset}`),
    caused ? el('div', { class: 'cause' }, 'caused this result') : null,
    el(
      'div',
      {},
      `key ${record.key ?? '(none)'} · ${record.timestamp}${record.trace ? ` · trace ${record.trace.traceId}` : ' · no trace'}`,
    ),
    el('pre', {}, record.value === null ? '(tombstone)' : json(record.value)),
  );
  const join = lineage.join;
  if (join) {
    box.append(el('div', {}, `joined by ${join.name} (${join.type} join) at position ${join.position}`));
    box.append(sideView('left', join.left, join.causedBy === 'left'), sideView('right', join.right, join.causedBy === 'right'));
  }
  return box;
}

function sideView(side, input, caused) {
  const view = el('div', { class: 'side', 'data-side': side }, el('div', { class: 'label' }, `${side} input`));
  if (input.kind === 'record') view.append(lineageView(input.lineage, caused));
  else if (input.kind === 'none') view.append(el('div', { class: 'lineage' }, `${input.topic}: none, ${input.why}`));
  else
    view.append(el('div', { class: 'lineage missing' }, `${input.topic} key ${input.key} offset ${input.offset}: not shown, ${input.why}`));
  return view;
}

// ---------- Start ----------

function fillSelect(select, values) {
  select.replaceChildren(...values.map((value) => el('option', { value }, value)));
}

async function start() {
  const pipeline = await api('/api/pipeline');
  $('pipeline-name').textContent = pipeline.graph.pipeline;
  document.title = `Pipeline ${pipeline.graph.pipeline}`;
  explainable = new Set(pipeline.explainable);
  drawGraph(pipeline.graph);
  fillSelect(
    $('dead-letters-consumer'),
    pipeline.deadLetters.map((entry) => entry.consumer),
  );
  fillSelect($('state-store'), [...pipeline.stores.joins, ...pipeline.stores.hotStreams]);
  fillSelect($('explain-topic'), pipeline.explainable);
  $('dead-letters-form').addEventListener('submit', action(listLetters));
  $('redrive-all').addEventListener(
    'click',
    action(() => redrive($('dead-letters-consumer').value, undefined)),
  );
  $('redrive-one').addEventListener(
    'click',
    action(() => redrive(openLetter.consumer, openLetter.at)),
  );
  $('state-form').addEventListener('submit', action(lookUpState));
  $('explain-form').addEventListener('submit', action(explain));
  followLive();
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  $('graph').replaceChildren(el('p', { class: 'empty' }, 'The pipeline could not be loaded.'));
  showError(error.message);
});
