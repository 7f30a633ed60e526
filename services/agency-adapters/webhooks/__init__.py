"""Links to agencies' own back-office systems: referrals pushed by signed webhook, moves
reported back through a signed callback that enters the same lifecycle as the workbench."""
