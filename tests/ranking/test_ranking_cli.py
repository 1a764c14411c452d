from click.testing import CliRunner

from recsys.cli import main


def invoke(args, settings, tmp_path):
    env = {"RECSYS_WAREHOUSE": str(settings.warehouse), "RECSYS_REPORTS_DIR": str(settings.reports_dir),
           "RECSYS_TEMP_DIR": str(tmp_path / "tmp"), "RECSYS_THREADS": "1"}
    return CliRunner().invoke(main, args, env=env)


def test_rank_without_a_trained_model_says_what_to_do(settings, tmp_path):
    result = invoke(["rank", "--target", "listen_plus", "--quiet"], settings, tmp_path)
    assert result.exit_code == 1
    assert "recsys train-ranker" in result.output


def test_train_then_rank_from_the_command_line(settings, config, tmp_path):
    user = tmp_path / "c.yml"
    user.write_text(
        "candidates: {models: [mostpop, history]}\n"
        "ranker:\n  models: null\n  train_folds: [val]\n  candidates_per_model: 6\n  num_boost_round: 5\n"
        "  compare_untuned: false\n"
        "  params: {min_data_in_leaf: 1}\n  extra_params: {min_data_in_bin: 1}\n"
    )
    trained = invoke(["train-ranker", "--target", "listen_plus", "--config", str(user), "--quiet"],
                     settings, tmp_path)
    assert trained.exit_code == 0, trained.output
    assert "top features (gain)" in trained.output
    ranked = invoke(["rank", "--target", "listen_plus", "--config", str(user), "--quiet"], settings, tmp_path)
    assert ranked.exit_code == 0, ranked.output
    # 31 users with candidates (one without targets: ranked too, for the paper's Coverage) x 6
    assert '"recommendations": 186' in ranked.output
