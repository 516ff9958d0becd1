"""Running sites offline: a site's program under the SDK's mocks (`offline`), many sites in workers (`batch`),
the content-hash cache (`cache`), review snapshots (`snapshot`), plan reports (`report`) and list-price cost
(`cost`). Above spec/, region/ and policy/; below review/, fleet/ and the CLI."""
