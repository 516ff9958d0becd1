"""`sitekit rollout`: carrying a change out across the fleet. `waves` plans the affected sites in waves (a pure
planner), `inputs` reads what it needs from the project and git, `journal` records a run, `runner` previews
with a saved plan and applies exactly that plan, wave by wave, through the pulumi CLI (the real one, or the
throwaway workspace's in tests), and `pending` finds the operations an interrupted update left behind."""
