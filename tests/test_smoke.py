def test_home_page_shows_markets(client, ctx):
    from tests.factories import MarketDayFactory

    MarketDayFactory(market__name="Stepnogorsk farmers' market")
    response = client.get("/")
    assert response.status_code == 200
    assert "Stepnogorsk farmers&#39; market" in response.get_data(as_text=True)
