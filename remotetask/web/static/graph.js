// The graph around one job (#/jobs/42): the jobs it waits for on the left,
// the job in the middle, the jobs that wait for it on the right, an arrow
// from each job to what waits for it. Each node is a link to its job, in
// its status's colour. Drawn as SVG; data only ever goes in as text.

const SVG = 'http://www.w3.org/2000/svg';
// How many nodes a side shows; the rest are counted in a last node.
const SHOWN = 12;
const NODE = {width: 190, height: 34, gap: 10, column: 300};

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function node(job, x, y, current) {
  const status = job.status.replace(' ', '-');
  const box = svg('g', {class: `node s-${status}${current ? ' current' : ''}`,
    transform: `translate(${x},${y})`, 'data-id': String(job.id)},
  svg('rect', {width: NODE.width, height: NODE.height, rx: 6}),
  svg('text', {x: 10, y: 21}, `#${job.id} ${job.task} · ${job.status}`));
  if (current || job.id === undefined) return box;
  const link = svg('a', {href: `#/jobs/${job.id}`}, box);
  return link;
}

function side(jobs) {
  const shown = jobs.slice(0, SHOWN);
  if (jobs.length > SHOWN) {
    shown.push({task: `and ${jobs.length - SHOWN} more`, status: 'more', id: undefined});
  }
  return shown;
}

// The section, or null for a job that waits for none and that none waits for.
export function graph(job) {
  const before = side(job.dependencies || []);
  const after = side(job.dependents || []);
  if (!before.length && !after.length) return null;
  const rows = Math.max(before.length, after.length, 1);
  const height = rows * (NODE.height + NODE.gap);
  const middle = (height - NODE.height) / 2;
  const y = (index, count) => (height - count * (NODE.height + NODE.gap)) / 2 + index * (NODE.height + NODE.gap);
  // A margin of 4 around, so that no border is cut.
  const picture = svg('svg', {class: 'graph', id: 'job-graph', width: 2 * NODE.column + NODE.width + 8,
    height: height + 8, viewBox: `-4 -4 ${2 * NODE.column + NODE.width + 8} ${height + 8}`});
  const arrow = (x1, y1, x2, y2) => picture.append(svg('line', {x1, y1, x2, y2, class: 'edge',
    'marker-end': 'url(#arrow)'}));
  picture.append(svg('defs', {}, svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto'}, svg('path', {d: 'M0,0 L10,5 L0,10 z'}))));
  const centre = middle + NODE.height / 2;
  before.forEach((other, index) => {
    const top = y(index, before.length);
    arrow(NODE.width, top + NODE.height / 2, NODE.column, centre);
    picture.append(node(other, 0, top, false));
  });
  after.forEach((other, index) => {
    const top = y(index, after.length);
    arrow(NODE.column + NODE.width, centre, 2 * NODE.column, top + NODE.height / 2);
    picture.append(node(other, 2 * NODE.column, top, false));
  });
  picture.append(node(job, NODE.column, middle, true));
  const section = document.createElement('section');
  section.className = 'block';
  const title = document.createElement('h2');
  title.textContent = 'Waits for · waited for by';
  section.append(title, picture);
  return section;
}
