// Whether the `allow-protected` label approves protected replacements and deletions for this pull request's
// head, and who approved: review.yml calls it through actions/github-script before `sitekit review --check`.
//
// The label approves only when it was added after the last push (a label stays on the pull request across
// pushes; an approval given for one head must not carry over to the next). When the head was pushed is taken as
// the latest of: the head commit's committer date (set by whoever made the commit, so never alone), the first
// run of this workflow for the head commit (GitHub's clock: a push starts a run), and the last force push
// (GitHub's clock). The label event is GitHub's clock too. Outputs: `allow` ("true" / "false") and `note` (a
// sentence naming who added the label and when, for the comment; empty without the label).
// Tested under node with a stubbed API by tests/test_review.py.
'use strict';

const LABEL = 'allow-protected';

async function lastPush({github, context, events, pr}) {
  const {owner, repo} = context.repo;
  const times = [];
  const commits = await github.paginate(github.rest.pulls.listCommits, {owner, repo, pull_number: pr.number});
  const head = commits.find(c => c.sha === pr.head.sha);
  if (head && head.commit && head.commit.committer) times.push(head.commit.committer.date);
  times.push(...events.filter(e => e.event === 'head_ref_force_pushed').map(e => e.created_at));
  const run = await github.rest.actions.getWorkflowRun({owner, repo, run_id: context.runId});
  const runs = await github.paginate(github.rest.actions.listWorkflowRuns,
    {owner, repo, workflow_id: run.data.workflow_id, head_sha: pr.head.sha, event: 'pull_request'});
  const first = runs.map(r => Date.parse(r.created_at)).filter(t => !Number.isNaN(t)).sort((a, b) => a - b)[0];
  if (first !== undefined) times.push(new Date(first).toISOString());
  const parsed = times.map(t => Date.parse(t)).filter(t => !Number.isNaN(t));
  return parsed.length ? new Date(Math.max(...parsed)) : null;
}

module.exports = async function allowProtected({github, context, core}) {
  const {owner, repo} = context.repo;
  const pr = context.payload.pull_request;
  const labels = await github.paginate(github.rest.issues.listLabelsOnIssue, {owner, repo, issue_number: pr.number});
  if (!labels.some(l => l.name === LABEL)) {
    core.setOutput('allow', 'false');
    core.setOutput('note', '');
    return {allow: false, note: ''};
  }
  const events = await github.paginate(github.rest.issues.listEvents, {owner, repo, issue_number: pr.number});
  const added = events.filter(e => e.event === 'labeled' && e.label && e.label.name === LABEL).pop();
  const pushed = await lastPush({github, context, events, pr});
  const who = added && added.actor ? `\`${added.actor.login}\`` : 'someone';
  const when = added ? added.created_at : 'an unknown time';
  const allow = Boolean(added && pushed && Date.parse(added.created_at) > pushed.getTime());
  const note = allow
    ? `**Protected replacements and deletions approved** by ${who}: the \`${LABEL}\` label was added at ${when}, ` +
      `after the last push (${pushed.toISOString()}).`
    : `**The \`${LABEL}\` label approves nothing for this head**: ${who} added it at ${when}, before the last ` +
      `push (${pushed ? pushed.toISOString() : 'unknown'}). Remove it and add it again to approve this head.`;
  core.setOutput('allow', String(allow));
  core.setOutput('note', note);
  return {allow, note};
};
