"""One voice session's Pipecat pipeline: speech in, the routers (over Redis) its brain, speech out.

`transport.input() → STT → user aggregator (Silero VAD) → TurnProcessor → TTS →
transport.output()`. There is no LLM processor: the routers answer over Redis.
"""

from pipecat.audio.vad.vad_analyzer import VADAnalyzer
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from shared.bus.session_link import SessionLink
from shared.settings import Settings
from voice.services import make_stt
from voice.turn_processor import TurnProcessor
from voice.turn_taking import turn_strategies, turn_vad


def user_turns_to_redis(
    link: SessionLink,
    vad_analyzer: VADAnalyzer | None = None,
    stt: FrameProcessor | None = None,
    strategies: UserTurnStrategies | None = None,
) -> tuple[FrameProcessor, TurnProcessor]:
    """The user aggregator (turn detection: `voice/turn_taking.py`; unset, Pipecat's) and the
    processor it hands finished turns to; an STT that knows when it was unsure (`take_unsure`)
    marks the turns it heard so."""
    context = LLMContext()
    pair = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=vad_analyzer, user_turn_strategies=strategies
        ),
    )
    user_aggregator = pair.user()
    turn_processor = TurnProcessor(link)

    @user_aggregator.event_handler("on_user_turn_stopped")
    async def on_user_turn_stopped(_aggregator: object, _strategy: object, message: object) -> None:
        take_unsure = getattr(stt, "take_unsure", None)
        unsure = bool(take_unsure()) if take_unsure else False
        await turn_processor.send_turn(getattr(message, "content", "") or "", unsure)

    return user_aggregator, turn_processor


def speech_in(
    link: SessionLink, settings: Settings
) -> tuple[FrameProcessor | None, FrameProcessor, TurnProcessor]:
    """A session's speech in, as the settings say: its STT (None: typed text only), and the
    user aggregator (the shared VAD, the turn-stop policy) with the processor it hands
    finished turns to."""
    stt = make_stt(settings)
    user_aggregator, turn_processor = user_turns_to_redis(
        link, turn_vad(), stt, turn_strategies(settings)
    )
    return stt, user_aggregator, turn_processor


def build_pipeline(
    input_processor: FrameProcessor,
    stt: FrameProcessor | None,
    user_aggregator: FrameProcessor,
    turn_processor: TurnProcessor,
    tts: FrameProcessor | None,
    output_processor: FrameProcessor,
) -> Pipeline:
    """The session's pipeline; without STT, only typed text reaches the routers; without TTS,
    replies reach the client as text only (the RTVI server messages)."""
    stages = [input_processor, stt, user_aggregator, turn_processor, tts, output_processor]
    return Pipeline([stage for stage in stages if stage is not None])
